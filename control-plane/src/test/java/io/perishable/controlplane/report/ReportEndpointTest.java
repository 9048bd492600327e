package io.perishable.controlplane.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.perishable.controlplane.InProcessGrpc;
import io.perishable.controlplane.audit.AuditEventType;
import io.perishable.controlplane.audit.AuditLog;
import io.perishable.controlplane.audit.AuditRecord;
import io.perishable.controlplane.audit.CheckpointKeys;
import io.perishable.controlplane.audit.FileAuditLog;
import io.perishable.controlplane.audit.FileAuditLogConfig;
import io.perishable.proto.v1.DecisionReport;
import io.perishable.proto.v1.ReportAck;
import io.perishable.proto.v1.ReportBatch;
import io.perishable.proto.v1.ReportServiceGrpc;
import io.perishable.proto.v1.ResponseMetering;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * ReportService in-process over a real {@link FileAuditLog}: records per decision, acks only
 * once durable, de-duplication of resends (also across a control-plane restart), and streams
 * ended on a failed append or a malformed batch.
 */
class ReportEndpointTest {
  private static final String REPLICA = "authz-1";
  private static final String SPOOL = "0123456789abcdef0123456789abcdef";

  @RegisterExtension
  final InProcessGrpc grpc = new InProcessGrpc();

  @TempDir
  Path dataDir;

  private final Clock clock = Clock.systemUTC();
  private final ExecutorService executor = Executors.newFixedThreadPool(2);
  private FileAuditLog log;

  @BeforeEach
  void openLog() {
    log = openAuditLog();
  }

  @AfterEach
  void closeLog() {
    executor.shutdownNow();
    log.close();
  }

  private FileAuditLog openAuditLog() {
    return FileAuditLog.open(FileAuditLogConfig.defaults(dataDir.resolve("audit")),
        CheckpointKeys.open(dataDir, clock), clock);
  }

  private ManagedChannel serve(AuditLog auditLog) {
    return grpc.serve(new ReportEndpoint(auditLog, InMemoryReportLedger.rebuildFrom(auditLog),
        executor));
  }

  static DecisionReport decision(long seq) {
    DecisionReport.Builder d = DecisionReport.newBuilder().setSeq(seq).setTimeMs(1_000 + seq)
        .setTokenId(String.format("tok%019d", seq)).setAgentId("agent-7")
        .setParentTokenId("tok0000000000000000000").setMethod("POST")
        .setPath("/v1/chat/completions").setModel("gpt-4o-mini")
        .setPromptHash("ab".repeat(32)).setRequestId("req-" + seq).setLatencyUs(180)
        .setUpstream("openai");
    if (seq % 2 == 0) {
      d.setAllowed(false).setReasonCode("model_not_allowed").setHttpStatus(403);
    } else {
      d.setAllowed(true).setScope("llm:complete");
    }
    return d.build();
  }

  static ReportBatch batch(long fromSeq, long throughSeq) {
    ReportBatch.Builder b = ReportBatch.newBuilder().setReplicaId(REPLICA).setSpoolId(SPOOL);
    for (long s = fromSeq; s <= throughSeq; s++) {
      b.addDecisions(decision(s));
    }
    return b.build();
  }

  /** One replica-side stream: what it sent, the acks and the error it got. */
  private static final class ReplicaStream {
    final BlockingQueue<Long> acks = new LinkedBlockingQueue<>();
    final BlockingQueue<Status> errors = new LinkedBlockingQueue<>();
    final StreamObserver<ReportBatch> requests;

    ReplicaStream(ManagedChannel channel) {
      requests = ReportServiceGrpc.newStub(channel).report(new StreamObserver<>() {
        @Override
        public void onNext(ReportAck ack) {
          acks.add(ack.getDurableThroughSeq());
        }

        @Override
        public void onError(Throwable t) {
          errors.add(Status.fromThrowable(t));
        }

        @Override
        public void onCompleted() {}
      });
    }

    ReplicaStream send(ReportBatch batch) {
      requests.onNext(batch);
      return this;
    }

    long awaitAck() throws InterruptedException {
      Long ack = acks.poll(10, TimeUnit.SECONDS);
      assertNotNull(ack, "no ack within 10s");
      return ack;
    }

    Status awaitError() throws InterruptedException {
      Status s = errors.poll(10, TimeUnit.SECONDS);
      assertNotNull(s, "no error within 10s");
      return s;
    }
  }

  /** Decision records in the log, by replica seq: how many times each seq was recorded. */
  private static Map<Long, Integer> recordedSeqs(AuditLog auditLog) {
    Map<Long, Integer> out = new TreeMap<>();
    for (AuditRecord r : decisionRecords(auditLog)) {
      out.merge(Long.parseLong(r.attributes().get(InMemoryReportLedger.SEQ_ATTRIBUTE)), 1,
          Integer::sum);
    }
    return out;
  }

  private static List<AuditRecord> decisionRecords(AuditLog auditLog) {
    List<AuditRecord> out = new ArrayList<>();
    try (AuditLog.Reader reader = auditLog.readFrom(1)) {
      reader.forEachRemaining(r -> {
        if (r.type() == AuditEventType.USED || r.type() == AuditEventType.DENIED) {
          out.add(r);
        }
      });
    }
    return out;
  }

  private static Map<Long, Integer> onceEach(long from, long through) {
    Map<Long, Integer> out = new TreeMap<>();
    for (long s = from; s <= through; s++) {
      out.put(s, 1);
    }
    return out;
  }

  @Test
  void batch_isAckedOnceDurable_withOneUsedOrDeniedRecordPerDecision() throws Exception {
    ReplicaStream replica = new ReplicaStream(serve(log)).send(batch(1, 10));

    assertEquals(10, replica.awaitAck());
    assertEquals(onceEach(1, 10), recordedSeqs(log));
    AuditRecord allowed = decisionRecords(log).get(0);
    assertEquals(AuditEventType.USED, allowed.type());
    assertEquals("tok0000000000000000001", allowed.tokenId());
    assertEquals("tok0000000000000000000", allowed.parentTokenId());
    assertEquals("/v1/chat/completions", allowed.endpoint());
    assertEquals("gpt-4o-mini", allowed.model());
    assertEquals("ab".repeat(32), allowed.promptHash());
    assertEquals(REPLICA, allowed.replicaId());
    assertEquals("req-1", allowed.requestId());
    assertEquals(180L, allowed.latencyUs());
    assertEquals("llm:complete", allowed.attributes().get("scope"));
    assertEquals(SPOOL, allowed.attributes().get(InMemoryReportLedger.SPOOL_ATTRIBUTE));
    assertNull(allowed.status(), "an allow's status comes from the upstream's response record");
    AuditRecord denied = decisionRecords(log).get(1);
    assertEquals(AuditEventType.DENIED, denied.type());
    assertEquals("model_not_allowed", denied.reasonCode());
    assertEquals(403, denied.status());
  }

  @Test
  void sameBatchSentTwice_isAckedTwice_butRecordedOnce() throws Exception {
    ManagedChannel channel = serve(log);
    assertEquals(10, new ReplicaStream(channel).send(batch(1, 10)).awaitAck());
    // The replica did not see that ack (stream broke), reconnects and resends, then overlaps.
    assertEquals(10, new ReplicaStream(channel).send(batch(1, 10)).awaitAck());
    assertEquals(15, new ReplicaStream(channel).send(batch(5, 15)).awaitAck());

    assertEquals(onceEach(1, 15), recordedSeqs(log));
  }

  @Test
  void deduplication_survivesAControlPlaneRestart() throws Exception {
    assertEquals(10, new ReplicaStream(serve(log)).send(batch(1, 10)).awaitAck());
    log.close();
    log = openAuditLog(); // the ledger is rebuilt from the log by serve()

    ReplicaStream replica = new ReplicaStream(serve(log));
    assertEquals(20, replica.send(batch(1, 20)).awaitAck());
    assertEquals(onceEach(1, 20), recordedSeqs(log));
  }

  @Test
  void failedAppend_endsTheStreamUnavailableWithoutAck_andTheResendRecordsEachOnce()
      throws Exception {
    FailingLog failing = new FailingLog(log, 4); // the 4th append fails
    ManagedChannel channel = serve(failing);
    ReplicaStream first = new ReplicaStream(channel).send(batch(1, 10));

    assertEquals(Status.Code.UNAVAILABLE, first.awaitError().getCode());
    assertNull(first.acks.poll(), "a batch with a lost record is not acked");

    assertEquals(10, new ReplicaStream(channel).send(batch(1, 10)).awaitAck());
    assertEquals(onceEach(1, 10), recordedSeqs(log));
  }

  @Test
  void malformedBatch_endsTheStreamInvalidArgument() throws Exception {
    ReportBatch descending = ReportBatch.newBuilder().setReplicaId(REPLICA).setSpoolId(SPOOL)
        .addDecisions(decision(5)).addDecisions(decision(3)).build();
    ReplicaStream replica = new ReplicaStream(serve(log)).send(descending);

    Status status = replica.awaitError();
    assertEquals(Status.Code.INVALID_ARGUMENT, status.getCode());
    assertEquals("seqs must be positive and ascending on a stream; got 3 after 5",
        status.getDescription());
  }

  @Test
  void tokenLikeValueFromTheClient_isRedacted_andTheDecisionStillRecorded() throws Exception {
    ReportBatch sneaky = ReportBatch.newBuilder().setReplicaId(REPLICA).setSpoolId(SPOOL)
        .addDecisions(decision(1).toBuilder().setModel("prs_AAAA.BBBB")).build();
    assertEquals(1, new ReplicaStream(serve(log)).send(sneaky).awaitAck());

    assertEquals(DecisionRecords.REDACTED, decisionRecords(log).get(0).model());
  }

  static DecisionReport completion(long seq, ResponseMetering.Outcome outcome) {
    ResponseMetering.Builder m = ResponseMetering.newBuilder().setOutcome(outcome)
        .setCompletionHash("cd".repeat(32)).setUpstreamStatus(200);
    if (outcome == ResponseMetering.Outcome.USAGE) {
      m.setInputTokens(12).setOutputTokens(34);
    }
    return DecisionReport.newBuilder().setSeq(seq).setTimeMs(2_000 + seq).setAllowed(true)
        .setTokenId("tok0000000000000000001").setRequestId("req-1").setUpstream("openai")
        .setMetering(m).build();
  }

  private static List<AuditRecord> completionRecords(AuditLog auditLog) {
    List<AuditRecord> out = new ArrayList<>();
    try (AuditLog.Reader reader = auditLog.readFrom(1)) {
      reader.forEachRemaining(r -> {
        if (r.type() == AuditEventType.COMPLETION) {
          out.add(r);
        }
      });
    }
    return out;
  }

  @Test
  void meteredResponse_isACompletionRecord_withHashUsageAndOutcome() throws Exception {
    ReportBatch b = ReportBatch.newBuilder().setReplicaId(REPLICA).setSpoolId(SPOOL)
        .addDecisions(decision(1))
        .addDecisions(completion(2, ResponseMetering.Outcome.USAGE))
        .addDecisions(completion(3, ResponseMetering.Outcome.CUT)).build();
    assertEquals(3, new ReplicaStream(serve(log)).send(b).awaitAck());

    List<AuditRecord> completions = completionRecords(log);
    assertEquals(2, completions.size());
    AuditRecord c = completions.get(0);
    assertEquals("tok0000000000000000001", c.tokenId());
    assertEquals("req-1", c.requestId(), "joins the used record of seq 1");
    assertEquals(200, c.status());
    assertEquals(REPLICA, c.replicaId());
    assertNull(c.promptHash());
    assertEquals("cd".repeat(32), c.attributes().get("completion_hash"));
    assertEquals("usage", c.attributes().get("metering"));
    assertEquals("12", c.attributes().get("input_tokens"));
    assertEquals("34", c.attributes().get("output_tokens"));
    assertEquals("openai", c.attributes().get("upstream"));
    assertEquals("2002", c.attributes().get("metered_at_ms"));
    AuditRecord cut = completions.get(1);
    assertEquals("cut", cut.attributes().get("metering"));
    assertNull(cut.attributes().get("input_tokens"), "a cut stream reports no usage");
    assertEquals(1, decisionRecords(log).size(), "a completion is not a decision");
  }

  @Test
  void completion_isDeduplicated_acrossAControlPlaneRestart() throws Exception {
    ReportBatch b = ReportBatch.newBuilder().setReplicaId(REPLICA).setSpoolId(SPOOL)
        .addDecisions(decision(1))
        .addDecisions(completion(2, ResponseMetering.Outcome.NO_USAGE)).build();
    assertEquals(2, new ReplicaStream(serve(log)).send(b).awaitAck());
    log.close();
    log = openAuditLog();

    assertEquals(2, new ReplicaStream(serve(log)).send(b).awaitAck());
    assertEquals(1, completionRecords(log).size());
    assertEquals(1, decisionRecords(log).size());
  }

  @Test
  void completionHashThatIsNotAHash_isNotRecorded_butTheCompletionIs() throws Exception {
    DecisionReport text = completion(1, ResponseMetering.Outcome.USAGE).toBuilder()
        .setMetering(ResponseMetering.newBuilder().setOutcome(ResponseMetering.Outcome.USAGE)
            .setCompletionHash("Hello! How can I help you today?")).build();
    ReportBatch b = ReportBatch.newBuilder().setReplicaId(REPLICA).setSpoolId(SPOOL)
        .addDecisions(text).build();
    assertEquals(1, new ReplicaStream(serve(log)).send(b).awaitAck());

    AuditRecord c = completionRecords(log).get(0);
    assertNull(c.attributes().get("completion_hash"));
    assertEquals("true", c.attributes().get("completion_hash_invalid"));
  }

  /** Delegates to a real log, except that its {@code failAt}-th append fails. */
  private static final class FailingLog implements AuditLog {
    private final AuditLog delegate;
    private final int failAt;
    private final AtomicInteger appends = new AtomicInteger();

    FailingLog(AuditLog delegate, int failAt) {
      this.delegate = delegate;
      this.failAt = failAt;
    }

    @Override
    public CompletableFuture<AuditRecord> append(AuditRecord.Builder draft) {
      if (appends.incrementAndGet() == failAt) {
        return CompletableFuture.failedFuture(new IllegalStateException("disk on fire"));
      }
      return delegate.append(draft);
    }

    @Override
    public CompletableFuture<AuditRecord> checkpoint() {
      return delegate.checkpoint();
    }

    @Override
    public Head head() {
      return delegate.head();
    }

    @Override
    public Reader readFrom(long seq) {
      return delegate.readFrom(seq);
    }

    @Override
    public void close() {}
  }
}
