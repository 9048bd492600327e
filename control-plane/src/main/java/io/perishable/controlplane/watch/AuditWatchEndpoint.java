package io.perishable.controlplane.watch;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.perishable.controlplane.audit.AuditLog;
import io.perishable.controlplane.audit.AuditRecord;
import io.perishable.proto.v1.AuditEvent;
import io.perishable.proto.v1.AuditServiceGrpc;
import io.perishable.proto.v1.WatchRequest;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Serves {@code AuditService.Watch}: each call gets a pump thread that reads the log from the
 * requested seq to its head, sending as fast as the stream's flow control allows, then polls the
 * head every {@link #POLL} for newly durable records. Records are sent exactly as stored
 * (canonical JSON, prev_hash, hash), so a consumer can verify the chain itself.
 *
 * <p>{@link #close()} ends every stream with UNAVAILABLE, before the gRPC server drains: a
 * watch never ends on its own and would otherwise hold the shutdown for its whole grace.
 */
public final class AuditWatchEndpoint extends AuditServiceGrpc.AuditServiceImplBase
    implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(AuditWatchEndpoint.class.getName());
  static final Duration POLL = Duration.ofMillis(20);

  private final AuditLog log;
  private final ExecutorService pumps = Executors.newCachedThreadPool(r -> {
    Thread t = new Thread(r, "audit-watch");
    t.setDaemon(true);
    return t;
  });
  private volatile boolean closed;

  public AuditWatchEndpoint(AuditLog log) {
    this.log = log;
  }

  @Override
  public void watch(WatchRequest request, StreamObserver<AuditEvent> responses) {
    ServerCallStreamObserver<AuditEvent> out = (ServerCallStreamObserver<AuditEvent>) responses;
    long next = log.head().seq() + 1;
    if (request.getFromSeq() > next) {
      out.onError(Status.OUT_OF_RANGE.withDescription("from_seq " + request.getFromSeq()
          + " lies beyond the log: the next record written will be seq " + next)
          .asRuntimeException());
      return;
    }
    long from = request.getFromSeq() == 0 ? next : request.getFromSeq();
    Object signal = new Object();
    Runnable wake = () -> {
      synchronized (signal) {
        signal.notifyAll();
      }
    };
    out.setOnReadyHandler(wake);
    out.setOnCancelHandler(wake);
    if (closed) {
      out.onError(Status.UNAVAILABLE.withDescription("control plane is shutting down")
          .asRuntimeException());
      return;
    }
    pumps.execute(() -> pump(from, out, signal));
  }

  private void pump(long from, ServerCallStreamObserver<AuditEvent> out, Object signal) {
    long next = from;
    try {
      while (!out.isCancelled() && !closed) {
        if (log.head().seq() >= next) {
          try (AuditLog.Reader reader = log.readFrom(next)) {
            while (reader.hasNext()) {
              if (!awaitReady(out, signal)) {
                return;
              }
              AuditRecord r = reader.next();
              out.onNext(event(r));
              next = r.seq() + 1;
            }
          }
        } else {
          synchronized (signal) {
            signal.wait(POLL.toMillis());
          }
        }
      }
      if (closed && !out.isCancelled()) {
        out.onError(Status.UNAVAILABLE.withDescription("control plane is shutting down; "
            + "reconnect from seq " + next).asRuntimeException());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      endQuietly(out, Status.UNAVAILABLE.withDescription("control plane is shutting down"));
    } catch (RuntimeException e) {
      if (!out.isCancelled()) {
        LOG.log(Level.WARNING, "audit watch failed at seq " + next, e);
        endQuietly(out, Status.INTERNAL.withDescription("reading the audit log failed at seq "
            + next + ": " + e.getMessage()));
      }
    }
  }

  /** Waits until the stream can take a message; false once it is cancelled or closing. */
  private boolean awaitReady(ServerCallStreamObserver<AuditEvent> out, Object signal)
      throws InterruptedException {
    synchronized (signal) {
      while (!out.isReady()) {
        if (out.isCancelled() || closed) {
          return false;
        }
        signal.wait(100);
      }
    }
    return !out.isCancelled() && !closed;
  }

  private static void endQuietly(ServerCallStreamObserver<AuditEvent> out, Status status) {
    try {
      out.onError(status.asRuntimeException());
    } catch (RuntimeException ignored) {
      // already cancelled or ended
    }
  }

  /** A record as it travels: canonical JSON bytes, prev_hash and hash. */
  public static AuditEvent event(AuditRecord r) {
    return AuditEvent.newBuilder()
        .setSeq(r.seq())
        .setCanonicalJson(ByteString.copyFrom(r.canonicalBytes()))
        .setPrevHash(ByteString.copyFrom(r.prevHash().bytes()))
        .setHash(ByteString.copyFrom(r.hash().bytes()))
        .build();
  }

  /** Ends every stream with UNAVAILABLE and stops the pumps. */
  @Override
  public void close() {
    closed = true;
    pumps.shutdown();
    try {
      if (!pumps.awaitTermination(2, java.util.concurrent.TimeUnit.SECONDS)) {
        pumps.shutdownNow();
      }
    } catch (InterruptedException e) {
      pumps.shutdownNow();
      Thread.currentThread().interrupt();
    }
  }
}
