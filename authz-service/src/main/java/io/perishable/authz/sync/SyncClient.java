package io.perishable.authz.sync;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.perishable.authz.revocation.RevocationSet;
import io.perishable.authz.token.KeyRing;
import io.perishable.authz.token.TokenVerifier;
import io.perishable.proto.v1.Ack;
import io.perishable.proto.v1.Hello;
import io.perishable.proto.v1.PublicKey;
import io.perishable.proto.v1.SyncRequest;
import io.perishable.proto.v1.SyncResponse;
import io.perishable.proto.v1.SyncServiceGrpc;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Keeps this replica's keys and revocation rules current: opens {@code SyncService.Sync},
 * applies the snapshot and deltas in order, acks them, and reconnects with capped exponential
 * backoff when the stream breaks. A reconnect starts with a fresh snapshot, so nothing missed
 * while disconnected is lost.
 *
 * <p>An ack is sent only after the message is fully applied: the control plane's Revoke waits
 * for it, and promises its caller that every acking replica refuses the revoked tokens. The
 * first snapshot's rules are in force before {@link #hasSnapshot()} turns true, so a
 * (re)started replica never decides a request without every live rule.
 */
public final class SyncClient implements SyncStatus, AutoCloseable {
  private static final Logger LOG = Logger.getLogger(SyncClient.class.getName());
  private static final Duration MIN_BACKOFF = Duration.ofMillis(100);
  private static final Duration MAX_BACKOFF = Duration.ofSeconds(5);

  private final ManagedChannel channel;
  private final String replicaId;
  private final KeyRing keys;
  private final RevocationSet revocations;
  private final TokenVerifier verifier;
  private final LongSupplier nanoTicker;
  private final ScheduledExecutorService scheduler;
  private final Runnable onFirstSnapshot;

  private volatile boolean hasSnapshot;
  private volatile long lastHeardAtNanos;
  private volatile boolean closed;
  private volatile ClientCallStreamObserver<SyncRequest> current;
  private long backoffMs = MIN_BACKOFF.toMillis();

  /**
   * @param nanoTicker monotonic time for staleness ({@code System::nanoTime}; tests pass a fake)
   * @param onFirstSnapshot run once, after the first snapshot is applied
   */
  public SyncClient(ManagedChannel channel, String replicaId, KeyRing keys,
      RevocationSet revocations, TokenVerifier verifier, LongSupplier nanoTicker,
      ScheduledExecutorService scheduler, Runnable onFirstSnapshot) {
    this.channel = channel;
    this.replicaId = replicaId;
    this.keys = keys;
    this.revocations = revocations;
    this.verifier = verifier;
    this.nanoTicker = nanoTicker;
    this.lastHeardAtNanos = nanoTicker.getAsLong();
    this.scheduler = scheduler;
    this.onFirstSnapshot = onFirstSnapshot;
  }

  /** Opens the stream; returns at once. */
  public void start() {
    connect();
  }

  @Override
  public boolean hasSnapshot() {
    return hasSnapshot;
  }

  @Override
  public Duration silence() {
    return Duration.ofNanos(nanoTicker.getAsLong() - lastHeardAtNanos);
  }

  private void connect() {
    if (closed) {
      return;
    }
    Stream stream = new Stream();
    SyncServiceGrpc.newStub(channel).sync(stream);
    stream.send(SyncRequest.newBuilder()
        .setHello(Hello.newBuilder().setReplicaId(replicaId)).build());
  }

  private void reconnectLater(Status why) {
    if (closed) {
      return;
    }
    long delay = backoffMs;
    backoffMs = Math.min(backoffMs * 2, MAX_BACKOFF.toMillis());
    LOG.log(hasSnapshot ? Level.WARNING : Level.FINE,
        () -> "sync stream to control plane broke (" + why.getCode() + " "
            + why.getDescription() + "); reconnecting in " + delay + "ms");
    scheduler.schedule(this::connect, delay, TimeUnit.MILLISECONDS);
  }

  private final class Stream implements ClientResponseObserver<SyncRequest, SyncResponse> {
    private ClientCallStreamObserver<SyncRequest> requests;

    @Override
    public void beforeStart(ClientCallStreamObserver<SyncRequest> requestStream) {
      this.requests = requestStream;
      current = requestStream;
    }

    @Override
    public void onNext(SyncResponse message) {
      lastHeardAtNanos = nanoTicker.getAsLong();
      switch (message.getKindCase()) {
        case SNAPSHOT -> {
          Map<String, byte[]> raw = new HashMap<>();
          for (PublicKey key : message.getSnapshot().getKeysList()) {
            raw.put(key.getKeyId(), key.getEd25519().toByteArray());
          }
          Set<String> dropped = keys.replaceAll(raw);
          if (!dropped.isEmpty()) {
            verifier.invalidateAll();
          }
          revocations.replaceAll(message.getSnapshot().getRulesList());
          boolean first = !hasSnapshot;
          hasSnapshot = true;
          backoffMs = MIN_BACKOFF.toMillis();
          ack(message.getSeq());
          if (first) {
            LOG.info(() -> "first snapshot from control plane: " + raw.size() + " key(s), "
                + message.getSnapshot().getRulesCount() + " revocation rule(s)");
            onFirstSnapshot.run();
          }
        }
        case DELTA -> {
          Map<String, byte[]> added = new HashMap<>();
          for (PublicKey key : message.getDelta().getAddedKeysList()) {
            added.put(key.getKeyId(), key.getEd25519().toByteArray());
          }
          Set<String> removed = new HashSet<>(message.getDelta().getRemovedKeyIdsList());
          keys.update(added, removed);
          if (!removed.isEmpty()) {
            verifier.invalidateAll();
          }
          revocations.addAll(message.getDelta().getAddedRulesList());
          ack(message.getSeq());
        }
        default -> {
          // Heartbeat: lastHeardAtNanos is all it is for.
        }
      }
    }

    private void ack(long seq) {
      send(SyncRequest.newBuilder().setAck(Ack.newBuilder().setSeq(seq)).build());
    }

    /** Hello (from the connecting thread) and acks (from callbacks) must not interleave. */
    synchronized void send(SyncRequest request) {
      requests.onNext(request);
    }

    @Override
    public void onError(Throwable t) {
      reconnectLater(Status.fromThrowable(t));
    }

    @Override
    public void onCompleted() {
      reconnectLater(Status.UNAVAILABLE.withDescription("control plane ended the stream"));
    }
  }

  @Override
  public void close() {
    closed = true;
    ClientCallStreamObserver<SyncRequest> stream = current;
    if (stream != null) {
      stream.cancel("replica shutting down", null);
    }
  }
}
