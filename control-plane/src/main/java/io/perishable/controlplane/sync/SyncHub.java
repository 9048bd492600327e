package io.perishable.controlplane.sync;

import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.perishable.proto.v1.Heartbeat;
import io.perishable.proto.v1.Snapshot;
import io.perishable.proto.v1.SyncRequest;
import io.perishable.proto.v1.SyncResponse;
import io.perishable.proto.v1.SyncServiceGrpc;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.logging.Logger;
import javax.annotation.concurrent.GuardedBy;

/**
 * Serves {@code SyncService.Sync}. A replica says Hello, gets a snapshot of the current state,
 * and from then on heartbeats; it acks each snapshot or delta once applied.
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

  /** The replicas connected right now. */
  public List<ReplicaStatus> replicas() {
    return streams.stream().filter(s -> s.replicaId != null).map(ReplicaStream::status).toList();
  }

  @Override
  public StreamObserver<SyncRequest> sync(StreamObserver<SyncResponse> responses) {
    ReplicaStream stream = new ReplicaStream((ServerCallStreamObserver<SyncResponse>) responses);
    stream.out.setOnCancelHandler(() -> streams.remove(stream));
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
        case ACK -> lastAckedSeq = Math.max(lastAckedSeq, request.getAck().getSeq());
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
      }
    }

    synchronized ReplicaStatus status() {
      return new ReplicaStatus(replicaId, seq, lastAckedSeq);
    }

    private synchronized void fail(Status status) {
      if (!closed) {
        closed = true;
        streams.remove(this);
        out.onError(status.asRuntimeException());
      }
    }

    synchronized void end() {
      if (!closed) {
        closed = true;
        out.onCompleted();
      }
    }

    @Override
    public void onError(Throwable t) {
      streams.remove(this);
      LOG.info(() -> "replica " + replicaId + " disconnected: " + Status.fromThrowable(t));
    }

    @Override
    public void onCompleted() {
      streams.remove(this);
      end();
    }
  }
}
