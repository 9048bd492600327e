package io.perishable.authz.report;

import static io.perishable.authz.report.ReportFixtures.await;
import static io.perishable.authz.report.ReportFixtures.config;
import static io.perishable.authz.report.ReportFixtures.decision;
import static io.perishable.authz.report.ReportFixtures.request;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.perishable.authz.budget.MeteredResponse;
import io.perishable.authz.budget.ReportedUsage;
import io.perishable.proto.v1.DecisionReport;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The reporter against an in-process fake control plane: delivery, acks deleting the spool,
 * reconnect and resend after outages and broken streams, replay after a replica restart.
 */
class DecisionReporterTest {
  @TempDir
  Path dir;

  private final FakeControlPlane controlPlane = new FakeControlPlane();

  @AfterEach
  void stop() {
    controlPlane.close();
  }

  private DecisionReporter start() throws Exception {
    return DecisionReporter.start(config(dir), controlPlane.channel(), Clock.systemUTC());
  }

  private static void decide(DecisionReporter reporter, int from, int count) {
    for (int i = from; i < from + count; i++) {
      reporter.decided(request(i), decision(i), 150_000);
    }
  }

  private void awaitAllReceived(DecisionReporter reporter, int count) {
    await(count + " decisions acked", () -> reporter.pendingDecisions() == 0
        && controlPlane.distinct() == count);
    for (long seq = 1; seq <= count; seq++) {
      assertTrue(controlPlane.timesReceived(seq) >= 1, "seq " + seq + " never arrived");
    }
  }

  @Test
  void everyDecision_reachesTheControlPlane_andAckedOnesLeaveTheSpool() throws Exception {
    controlPlane.up();
    try (DecisionReporter reporter = start()) {
      decide(reporter, 1, 1000);
      awaitAllReceived(reporter, 1000);
      assertEquals(1000, reporter.durableThroughSeq());
      assertTrue(reporter.spoolBytes() <= config(dir).segmentBytes(),
          "only the newest segment is left: " + reporter.spoolBytes());
      assertEquals(0, reporter.unrecordedDecisions());
      assertEquals(reporter.spoolId(), controlPlane.spoolIds.get(0));
    }
  }

  @Test
  void withABatchInFlight_theNextDecisionsWaitForItsAck_andLeaveAsOneBatch() throws Exception {
    controlPlane.holdAcks(true);
    controlPlane.up();
    try (DecisionReporter reporter = start()) {
      decide(reporter, 1, 1);
      await("the first batch", () -> controlPlane.distinct() == 1);
      decide(reporter, 2, 9);
      controlPlane.holdAcks(false);
      awaitAllReceived(reporter, 10);

      assertEquals(List.of(1, 9), controlPlane.batchSizes);
    }
  }

  @Test
  void withBatchesInFlight_aFullBatchStillLeavesAtOnce() throws Exception {
    controlPlane.holdAcks(true);
    controlPlane.up();
    try (DecisionReporter reporter = start()) {
      decide(reporter, 1, 1);
      await("the first batch", () -> controlPlane.distinct() == 1);
      decide(reporter, 2, 64); // the test config's batch size

      await("a full batch while the first is unacked", () -> controlPlane.distinct() == 65);
      assertEquals(List.of(1, 64), controlPlane.batchSizes);
      controlPlane.holdAcks(false);
      awaitAllReceived(reporter, 65);
    }
  }

  @Test
  void meteredResponse_travelsTheSameSpool_afterItsDecision() throws Exception {
    controlPlane.up();
    try (DecisionReporter reporter = start()) {
      reporter.decided(request(1), decision(1), 150_000);
      reporter.metered(new MeteredResponse("req-1", "tok-1", "openai", 200, true,
          Optional.of(new ReportedUsage(12, 34)), "cd".repeat(32)));
      awaitAllReceived(reporter, 2);

      assertFalse(controlPlane.reports.get(1L).hasMetering(), "seq 1 is the decision");
      DecisionReport completion = controlPlane.reports.get(2L);
      assertEquals("cd".repeat(32), completion.getMetering().getCompletionHash());
      assertEquals(34, completion.getMetering().getOutputTokens());
      assertEquals("req-1", completion.getRequestId());
    }
  }

  @Test
  void controlPlaneDown_decisionsSpool_thenAllArriveOnReconnect() throws Exception {
    controlPlane.up();
    try (DecisionReporter reporter = start()) {
      decide(reporter, 1, 100);
      awaitAllReceived(reporter, 100);

      controlPlane.down();
      decide(reporter, 101, 400);
      await("stream noticed broken", () -> reporter.pendingDecisions() == 400);
      assertTrue(reporter.acceptingDecisions(), "400 decisions are far from a full spool");

      controlPlane.up();
      awaitAllReceived(reporter, 500);
      assertTrue(reporter.reconnects() >= 1);
    }
  }

  @Test
  void brokenStream_resendsFromTheOldestUnackedDecision() throws Exception {
    controlPlane.breakNextStreams.set(2); // each takes one batch, acks nothing, and breaks
    controlPlane.up();
    try (DecisionReporter reporter = start()) {
      decide(reporter, 1, 300);
      awaitAllReceived(reporter, 300);
      assertTrue(controlPlane.timesReceived(1) >= 3, "seq 1 sent on each of the 3 streams");
      assertTrue(controlPlane.streams.get() >= 3);
    }
  }

  @Test
  void replicaRestart_replaysWhatWasNotDelivered_andSeqsContinue() throws Exception {
    // Control plane down the whole life of the first replica process.
    try (DecisionReporter first = start()) {
      decide(first, 1, 250);
      assertEquals(250, first.pendingDecisions());
    }
    controlPlane.up();
    try (DecisionReporter second = start()) {
      decide(second, 251, 50);
      awaitAllReceived(second, 300);
      assertEquals(300, second.durableThroughSeq());
    }
  }

  @Test
  void failClosed_refusesOnceTheSpoolIsNearlyFull_andRecoversWhenDelivered() throws Exception {
    ReportConfig small = config(dir).withSpool(64 << 10, SpoolFullPolicy.FAIL_CLOSED)
        .withSegmentBytes(4096);
    try (DecisionReporter reporter =
        DecisionReporter.start(small, controlPlane.channel(), Clock.systemUTC())) {
      int n = 0;
      while (reporter.acceptingDecisions()) {
        reporter.decided(request(++n), decision(n), 1000);
      }
      assertEquals(0, reporter.unrecordedDecisions());
      assertFalse(reporter.acceptingDecisions());

      controlPlane.up();
      int decided = n;
      await("spool drained", () -> reporter.pendingDecisions() == 0);
      assertTrue(reporter.acceptingDecisions());
      assertEquals(decided, controlPlane.distinct());
    }
  }

  @Test
  void keepServing_countsDecisionsThatDidNotFit() throws Exception {
    ReportConfig small = config(dir).withSpool(64 << 10, SpoolFullPolicy.KEEP_SERVING)
        .withSegmentBytes(4096);
    try (DecisionReporter reporter =
        DecisionReporter.start(small, controlPlane.channel(), Clock.systemUTC())) {
      decide(reporter, 1, 2000);
      assertTrue(reporter.acceptingDecisions());
      assertTrue(reporter.unrecordedDecisions() > 0);
      assertEquals(2000, reporter.pendingDecisions() + reporter.unrecordedDecisions());
    }
  }
}
