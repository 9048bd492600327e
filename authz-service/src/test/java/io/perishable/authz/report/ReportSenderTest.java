package io.perishable.authz.report;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** When the sender sends a batch: its group-commit rule, alone (4 in flight, 64 per batch). */
class ReportSenderTest {
  @Test
  void nothingInFlight_anyUnsentDecisionLeavesAtOnce() {
    assertTrue(ReportSender.sendNow(0, 1, 4, 64));
    assertFalse(ReportSender.sendNow(0, 0, 4, 64));
  }

  @Test
  void batchesInFlight_onlyAFullBatchLeaves() {
    assertFalse(ReportSender.sendNow(1, 1, 4, 64));
    assertFalse(ReportSender.sendNow(3, 63, 4, 64));
    assertTrue(ReportSender.sendNow(1, 64, 4, 64));
    assertTrue(ReportSender.sendNow(3, 500, 4, 64));
  }

  @Test
  void windowFull_nothingLeaves() {
    assertFalse(ReportSender.sendNow(4, 500, 4, 64));
  }
}
