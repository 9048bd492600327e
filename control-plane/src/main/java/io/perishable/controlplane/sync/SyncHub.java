package io.perishable.controlplane.sync;

import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.perishable.proto.v1.Delta;
import io.perishable.proto.v1.Heartbeat;
import io.perishable.proto.v1.Snapshot;
import io.perishable.proto.v1.SyncRequest;
import io.perishable.proto.v1.SyncResponse;
import io.perishable.proto.v1.SyncServiceGrpc;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentNavigableMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import java.util.logging.Logger;
import javax.annotation.concurrent.GuardedBy;

/**
 * Serves {@code SyncService.Sync}. A replica says Hello, gets a snapshot of the current state,
 * and from then on deltas and heartbeats; it acks each snapshot or delta once applied.
 *
 * <p>{@link #publish} sends a delta to every connected replica and can wait for each one's
 * ack of it: that is how {@code Revoke} knows every replica enforces a rule before it
 * returns. A change must be visible to the snapshot supplier <em>before</em> it is published:
 * then a replica connecting concurrently gets it in its snapshot, in the delta, or in both
 * (applying it twice is harmless), never in neither.
 */
public final class SyncHub extends SyncServiceGrpc.SyncServiceImplBase implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(SyncHub.class.getName());

  private final Supplier<Snapshot> snapshots;
  private final Clock clock;
  private final Set<ReplicaStream> streams = ConcurrentHashMap.newKeySet();
  private final ScheduledFuture<?> heartbeats;

  /**
   * @param snapshots the current state, asked for whenever a replica connects
   * @param heartbeatInterval how often every stream carries a heartbeat
   * @param scheduler runs the heartbeats
   */
  public SyncHub(Supplier<Snapshot> snapshots, Clock clock, Duration heartbeatInterval,
      ScheduledExecutorService scheduler) {
    this.snapshots = snapshots;
    this.clock = clock;
    long period = heartbeatInterval.toMillis();
    this.heartbeats = scheduler.scheduleAtFixedRate(
        this::heartbeatAll, period, period, TimeUnit.MILLISECONDS);
  }

  /** A connected replica as seen from here. */
  public record ReplicaStatus(String replicaId, long lastSentSeq, long lastAckedSeq) {}

  /**
   * What became of a published delta.
   *
   * @param acked replicas that acked it in time
   * @param unacked replicas it was sent to that did not ack in time, or disconnected first
   */
  public record Propagation(List<String> acked, List<String> unacked) {
    public Propagation {
      acked = List.copyOf(acked);
      unacked = List.copyOf(unacked);
    }
  }

  /**
   * Sends {@code delta} to every replica connected now, each at its stream's next seq, and
   * waits up to {@code ackTimeout} for every one of them to ack it. A zero timeout sends
   * without waiting (every replica is then reported unacked). Replicas that connect after
   * this call began are not waited for: their snapshot already holds the change.
   */
  public Propagation publish(Delta delta, Duration ackTimeout) {
    // Several streams may carry one replica id (an old one not yet noticed as gone).
    List<Map.Entry<String, CompletableFuture<Boolean>>> pending = new ArrayList<>();
    for (ReplicaStream stream : streams) {
      CompletableFuture<Boolean> ack = stream.sendDelta(delta);
      if (ack != null) {
        pending.add(Map.entry(stream.replicaId, ack));
      }
    }
    List<String> acked = new ArrayList<>();
    List<String> unacked = new ArrayList<>();
    long deadline = System.nanoTime() + ackTimeout.toNanos();
    for (Map.Entry<String, CompletableFuture<Boolean>> e : pending) {
      boolean ok = false;
      if (!ackTimeout.isZero()) {
        try {
          ok = e.getValue().get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (TimeoutException | ExecutionException timedOutOrGone) {
          ok = false;
        } catch (InterruptedException interrupted) {
          Thread.currentThread().interrupt();
        }
      }
      (ok ? acked : unacked).add(e.getKey());
    }
    return new Propagation(acked, unacked);
  }

  /** The replicas connected right now. */
  public List<ReplicaStatus> replicas() {
    return streams.stream().filter(s -> s.replicaId != null).map(ReplicaStream::status).toList();
  }

  @Override
  public StreamObserver<SyncRequest> sync(StreamObserver<SyncResponse> responses) {
    ReplicaStream stream = new ReplicaStream((ServerCallStreamObserver<SyncResponse>) responses);
    stream.out.setOnCancelHandler(stream::gone);
    return stream;
  }

  private void heartbeatAll() {
    for (ReplicaStream stream : streams) {
      stream.heartbeat();
    }
  }

  @Override
  public void close() {
    heartbeats.cancel(false);
    for (ReplicaStream stream : streams) {
      stream.end();
    }
    streams.clear();
  }

  /** One replica's stream. Outgoing messages are serialized by {@code this}. */
  private final class ReplicaStream implements StreamObserver<SyncRequest> {
    private final ServerCallStreamObserver<SyncResponse> out;
    private volatile String replicaId;
    private volatile long lastAckedSeq;
    /** Futures of publish() calls waiting for an ack, by the seq they wait for. */
    private final ConcurrentNavigableMap<Long, CompletableFuture<Boolean>> waiters =
        new ConcurrentSkipListMap<>();

    @GuardedBy("this")
    private long seq;

    @GuardedBy("this")
    private boolean closed;

    ReplicaStream(ServerCallStreamObserver<SyncResponse> out) {
      this.out = out;
    }

    @Override
    public void onNext(SyncRequest request) {
      switch (request.getKindCase()) {
        case HELLO -> hello(request.getHello().getReplicaId());
        case ACK -> acked(request.getAck().getSeq());
        default -> fail(Status.INVALID_ARGUMENT.withDescription("empty SyncRequest"));
      }
    }

    private void hello(String id) {
      if (replicaId != null) {
        fail(Status.FAILED_PRECONDITION.withDescription("Hello sent twice on one stream"));
        return;
      }
      if (id.isEmpty() || id.length() > 128) {
        fail(Status.INVALID_ARGUMENT.withDescription("replica_id must be 1-128 characters"));
        return;
      }
      replicaId = id;
      synchronized (this) {
        // Registered and snapshotted under the stream's lock, so no later delta can overtake
        // the snapshot on this stream.
        streams.add(this);
        send(SyncResponse.newBuilder().setSnapshot(snapshots.get()), true);
      }
      LOG.info(() -> "replica " + id + " connected");
    }

    /** Inbound messages of one call arrive one at a time: this is the only writer. */
    private void acked(long seq) {
      lastAckedSeq = Math.max(lastAckedSeq, seq);
      ConcurrentNavigableMap<Long, CompletableFuture<Boolean>> done = waiters.headMap(seq, true);
      for (CompletableFuture<Boolean> waiter : done.values()) {
        waiter.complete(true);
      }
      done.clear();
    }

    /**
     * Sends a delta; returns a future completed with true once it is acked, false if the
     * stream ends first, or null when the stream is not (or no longer) serving.
     */
    CompletableFuture<Boolean> sendDelta(Delta delta) {
      CompletableFuture<Boolean> waiter = new CompletableFuture<>();
      long sentSeq;
      synchronized (this) {
        if (closed || replicaId == null) {
          return null;
        }
        send(SyncResponse.newBuilder().setDelta(delta), true);
        if (closed) {
          return CompletableFuture.completedFuture(false);
        }
        sentSeq = seq;
        // Registered under the lock: gone() either ran before (closed) or will fail it.
        waiters.put(sentSeq, waiter);
      }
      // The ack may have overtaken the registration.
      if (lastAckedSeq >= sentSeq) {
        waiters.remove(sentSeq);
        waiter.complete(true);
      }
      return waiter;
    }

    /** The call was cancelled or failed: stop sending, and release every waiter. */
    synchronized void gone() {
      closed = true;
      streams.remove(this);
      failWaiters();
    }

    /** The stream is gone: nobody waits for its acks any longer. */
    @GuardedBy("this")
    private void failWaiters() {
      for (CompletableFuture<Boolean> waiter : waiters.values()) {
        waiter.complete(false);
      }
      waiters.clear();
    }

    synchronized void heartbeat() {
      if (replicaId != null) {
        send(SyncResponse.newBuilder().setHeartbeat(Heartbeat.getDefaultInstance()), false);
      }
    }

    @GuardedBy("this")
    private void send(SyncResponse.Builder message, boolean advancesSeq) {
      if (closed) {
        return;
      }
      if (advancesSeq) {
        seq++;
      }
      try {
        out.onNext(message.setSeq(seq).setSentAtMs(clock.millis()).build());
      } catch (RuntimeException e) {
        // The call was cancelled under us; the cancel handler removes the stream.
        closed = true;
        streams.remove(this);
        failWaiters();
      }
    }

    synchronized ReplicaStatus status() {
      return new ReplicaStatus(replicaId, seq, lastAckedSeq);
    }

    private synchronized void fail(Status status) {
      if (!closed) {
        closed = true;
        streams.remove(this);
        failWaiters();
        out.onError(status.asRuntimeException());
      }
    }

    synchronized void end() {
      if (!closed) {
        closed = true;
        failWaiters();
        out.onCompleted();
      }
    }

    @Override
    public void onError(Throwable t) {
      gone();
      LOG.info(() -> "replica " + replicaId + " disconnected: " + Status.fromThrowable(t));
    }

    @Override
    public void onCompleted() {
      streams.remove(this);
      end();
    }
  }
}
