package io.perishable.controlplane.report;

import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.perishable.controlplane.audit.AuditLog;
import io.perishable.controlplane.audit.AuditRecord;
import io.perishable.proto.v1.DecisionReport;
import io.perishable.proto.v1.ReportAck;
import io.perishable.proto.v1.ReportBatch;
import io.perishable.proto.v1.ReportServiceGrpc;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.logging.Level;
import java.util.logging.Logger;
import javax.annotation.concurrent.GuardedBy;

/**
 * {@code ReportService.Report}: appends every decision an authz replica reports to the audit
 * log, as a {@code used} or {@code denied} record, and acks a batch only once every one of its
 * appends is durable (the append futures completed, i.e. fsynced).
 *
 * <p><b>Exactly once in the chain.</b> Replicas deliver at least once (they resend after every
 * broken stream and restart). Before appending, the endpoint asks the {@link ReportLedger}
 * whether (replica id, spool id, seq) is already durable; if so the decision is acked again but
 * not appended again. One stream's batches are pipelined (the next batch's appends are issued
 * before the previous batch is durable, so one fsync of the log covers several batches; acks
 * still go out in order). When a replica's new stream takes over from an old one, its first
 * batch waits until every append the old stream issued has completed before it consults the
 * ledger, so a resend never races the appends of the decisions it repeats.
 *
 * <p><b>Failures.</b> If any append of a batch fails (audit queue full, log unavailable), the
 * stream ends with {@code UNAVAILABLE} and no ack for that batch; the replica reconnects and
 * resends, and the appends that did succeed are not repeated. A batch that breaks the contract
 * (no replica or spool id, seqs not ascending, a different source on one stream) ends the stream
 * with {@code INVALID_ARGUMENT}.
 *
 * <p>Appends are issued on {@code executor}, never on the audit log's writer thread (an append
 * may wait for room in the log's queue, which only the writer frees).
 */
public final class ReportEndpoint extends ReportServiceGrpc.ReportServiceImplBase {
  private static final Logger LOG = Logger.getLogger(ReportEndpoint.class.getName());
  private static final int MAX_ID_LENGTH = 128;

  private final AuditLog log;
  private final ReportLedger ledger;
  private final Executor executor;
  private final Map<ReportSource, SourceState> sources = new ConcurrentHashMap<>();

  /**
   * Which stream feeds a source now, and when every append issued for the source so far has
   * completed. A stream pipelines its own batches; a different stream of the same source (the
   * replica reconnected) waits for all of them before it checks the ledger, so a resend never
   * races the appends of the decisions it repeats.
   */
  private static final class SourceState {
    @GuardedBy("this")
    Stream owner;

    @GuardedBy("this")
    CompletableFuture<Void> appendsDone = CompletableFuture.completedFuture(null);
  }

  /**
   * @param ledger already holding every decision in {@code log} ({@link
   *     InMemoryReportLedger#rebuildFrom})
   * @param executor issues the appends; a small pool shared by all streams
   */
  public ReportEndpoint(AuditLog log, ReportLedger ledger, Executor executor) {
    this.log = log;
    this.ledger = ledger;
    this.executor = executor;
  }

  @Override
  public StreamObserver<ReportBatch> report(StreamObserver<ReportAck> responses) {
    return new Stream(responses);
  }

  private final class Stream implements StreamObserver<ReportBatch> {
    private final StreamObserver<ReportAck> responses;
    // Touched only by gRPC's serialized inbound callbacks.
    private ReportSource source;
    private long lastSeq;
    /** Completes once every earlier batch of this stream has had its appends issued. */
    private CompletableFuture<Void> issued = CompletableFuture.completedFuture(null);
    /** Completes once every earlier batch of this stream is durable and acked. */
    private CompletableFuture<Void> acked = CompletableFuture.completedFuture(null);

    @GuardedBy("this")
    private boolean ended;

    Stream(StreamObserver<ReportAck> responses) {
      this.responses = responses;
    }

    @Override
    public void onNext(ReportBatch batch) {
      String problem = check(batch);
      if (problem != null) {
        end(Status.INVALID_ARGUMENT.withDescription(problem));
        return;
      }
      if (source == null) {
        source = new ReportSource(batch.getReplicaId(), batch.getSpoolId());
      }
      ReportSource src = source;
      long through = batch.getDecisions(batch.getDecisionsCount() - 1).getSeq();
      lastSeq = through;
      SourceState state = sources.computeIfAbsent(src, s -> new SourceState());
      CompletableFuture<Void> appended;
      synchronized (state) {
        CompletableFuture<Void> gate = state.owner == this
            ? issued
            : CompletableFuture.allOf(issued, state.appendsDone);
        state.owner = this;
        // Issue in batch order (one after another on the executor), complete when durable.
        CompletableFuture<CompletableFuture<Void>> issuing =
            gate.thenApplyAsync(v -> appendAll(src, batch), executor);
        issued = issuing.thenApply(f -> null);
        appended = issuing.thenCompose(f -> f);
        state.appendsDone = CompletableFuture.allOf(state.appendsDone, appended)
            .handle((v, e) -> null);
      }
      // Ack in order, and only if every earlier batch of the stream was acked too: a seq that
      // failed in an earlier batch must not be covered by a later batch's ack.
      acked = acked.thenCombine(appended, (a, b) -> (Void) null).thenRun(() -> {
        ledger.recordedThrough(src, through);
        ack(through);
      });
      acked.exceptionally(error -> {
        Throwable cause = error instanceof CompletionException && error.getCause() != null
            ? error.getCause() : error;
        if (!isEnded()) {
          LOG.log(Level.WARNING, "could not record decisions from replica " + src.replicaId()
              + " (it will resend): " + cause);
        }
        end(Status.UNAVAILABLE.withDescription(
            "audit log could not record the decisions; resend after a pause: " + cause));
        return null;
      });
    }

    /** Why the batch breaks the contract, or null. */
    private String check(ReportBatch batch) {
      String replica = batch.getReplicaId();
      String spool = batch.getSpoolId();
      if (replica.isEmpty() || replica.length() > MAX_ID_LENGTH) {
        return "replica_id must be 1-" + MAX_ID_LENGTH + " characters";
      }
      if (spool.isEmpty() || spool.length() > MAX_ID_LENGTH) {
        return "spool_id must be 1-" + MAX_ID_LENGTH + " characters";
      }
      if (source != null
          && !(source.replicaId().equals(replica) && source.spoolId().equals(spool))) {
        return "every batch on one stream must carry the same replica_id and spool_id (stream"
            + " began with replica " + source.replicaId() + ")";
      }
      if (batch.getDecisionsCount() == 0) {
        return "a batch carries at least one decision";
      }
      long previous = source == null ? 0 : lastSeq;
      for (DecisionReport d : batch.getDecisionsList()) {
        // Unsigned compare: seqs are uint64; 0 is not a seq.
        if (d.getSeq() == 0 || Long.compareUnsigned(d.getSeq(), previous) <= 0) {
          return "seqs must be positive and ascending on a stream; got " + Long.toUnsignedString(
              d.getSeq()) + " after " + Long.toUnsignedString(previous);
        }
        previous = d.getSeq();
      }
      return null;
    }

    /**
     * Appends the batch's decisions the ledger does not hold yet; the future completes once they
     * are all durable, or fails with the first failure.
     */
    private CompletableFuture<Void> appendAll(ReportSource src, ReportBatch batch) {
      if (isEnded()) {
        // An earlier batch failed or the replica left: it resends this batch on a new stream.
        return CompletableFuture.failedFuture(new IllegalStateException("stream ended"));
      }
      List<CompletableFuture<?>> appends = new ArrayList<>();
      for (DecisionReport d : batch.getDecisionsList()) {
        long seq = d.getSeq();
        if (ledger.isRecorded(src, seq)) {
          continue;
        }
        appends.add(append(src, d).thenRun(() -> ledger.recorded(src, seq)));
      }
      return CompletableFuture.allOf(appends.toArray(new CompletableFuture<?>[0]));
    }

    private CompletableFuture<AuditRecord> append(ReportSource src, DecisionReport d) {
      try {
        return log.append(DecisionRecords.of(src, d));
      } catch (IllegalArgumentException e) {
        // A field the log refuses: record the decision anyway, without its details.
        return log.append(DecisionRecords.minimal(src, d, e.getMessage()));
      } catch (RuntimeException e) {
        return CompletableFuture.failedFuture(e);
      }
    }

    private synchronized boolean isEnded() {
      return ended;
    }

    private synchronized void ack(long through) {
      if (ended) {
        return;
      }
      try {
        responses.onNext(ReportAck.newBuilder().setDurableThroughSeq(through).build());
      } catch (RuntimeException e) {
        ended = true; // cancelled by the replica: it resends what this ack would have covered
      }
    }

    private synchronized void end(Status status) {
      if (ended) {
        return;
      }
      ended = true;
      try {
        responses.onError(status.asRuntimeException());
      } catch (RuntimeException e) {
        // Already cancelled.
      }
    }

    @Override
    public void onError(Throwable t) {
      // The replica went away; batches already queued still append (and are de-duplicated
      // when it resends them), but nothing is acked any more.
      synchronized (this) {
        ended = true;
      }
    }

    @Override
    public void onCompleted() {
      acked.whenComplete((v, e) -> {
        synchronized (this) {
          if (ended) {
            return;
          }
          ended = true;
          try {
            responses.onCompleted();
          } catch (RuntimeException ex) {
            // Already cancelled.
          }
        }
      });
    }
  }
}
