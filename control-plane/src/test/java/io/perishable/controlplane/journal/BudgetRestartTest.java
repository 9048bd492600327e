package io.perishable.controlplane.journal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.perishable.controlplane.MutableClock;
import io.perishable.controlplane.audit.CheckpointKeys;
import io.perishable.controlplane.audit.FileAuditLog;
import io.perishable.controlplane.audit.FileAuditLogConfig;
import io.perishable.controlplane.budget.AgentBudget;
import io.perishable.controlplane.budget.BudgetLedger;
import io.perishable.controlplane.budget.BudgetRejectedException;
import io.perishable.controlplane.budget.BudgetUsage;
import io.perishable.controlplane.budget.Lease;
import io.perishable.controlplane.budget.LeaseDecision;
import io.perishable.controlplane.budget.ReturnedLease;
import io.perishable.controlplane.report.InMemoryReportLedger;
import io.perishable.controlplane.revocation.RevocationRules;
import io.perishable.controlplane.tokens.InMemoryTokenIndex;
import io.perishable.controlplane.tokens.IndexedToken;
import io.perishable.proto.v1.TokenClaims;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A control plane restarts while replicas hold leases: the ledger it rebuilds from the audit log
 * has every account's spend, the outstanding leases (renewable and returnable under their ids),
 * and charges a lease whose replica never comes back in full at its expiry.
 */
class BudgetRestartTest {
  private static final Duration TTL = Duration.ofSeconds(30);
  private static final AgentBudget SUMMARIZER =
      new AgentBudget("summarizer", 50_000, Duration.ofDays(1));

  @TempDir
  Path dataDir;

  private final MutableClock clock = new MutableClock(Instant.parse("2026-11-25T10:00:00Z"));

  private FileAuditLog openLog() {
    return FileAuditLog.open(FileAuditLogConfig.defaults(dataDir.resolve("audit")),
        CheckpointKeys.open(dataDir, clock), clock);
  }

  /** What a control plane does: the ledger changes, and the change is recorded. */
  private static final class Recorded {
    final BudgetLedger ledger;
    final AuditTrail trail;

    Recorded(BudgetLedger ledger, AuditTrail trail) {
      this.ledger = ledger;
      this.trail = trail;
    }

    void issue(String tokenId, String parentId, long budget) {
      TokenClaims.Builder c = TokenClaims.newBuilder().setTokenId(tokenId)
          .setKeyId("0011223344556677").setAgentId("summarizer").setIssuedAtMs(1)
          .setExpiresAtMs(Long.MAX_VALUE / 2).addScopes("llm:complete").setUpstream("openai")
          .setBudgetTokens(budget);
      if (parentId != null) {
        c.addAncestorIds(parentId);
      }
      ledger.openIssued(tokenId, "summarizer", parentId, budget, false);
      trail.issued(new IndexedToken(c.build(), "issuer-a")).join();
    }

    Lease lease(String tokenId, String replica, long amount) {
      LeaseDecision d = ledger.lease(tokenId, replica, amount);
      trail.leased(d.lease(), d.window()).join();
      return d.lease();
    }

    void settle(Lease lease, long used) {
      trail.returned(ledger.settle(lease.leaseId(), used)).join();
    }

    void expire() {
      for (ReturnedLease r : ledger.expireReturned()) {
        trail.returned(r).join();
      }
    }
  }

  private Recorded start(FileAuditLog log) {
    BudgetLedger ledger = new BudgetLedger(clock, TTL, List.of(SUMMARIZER));
    StateReplay.rebuild(log, null).state().installInto(new InMemoryTokenIndex(),
        new RevocationRules(), new ExpiryWatcher(new InMemoryTokenIndex(), null, clock),
        new InMemoryReportLedger(), ledger);
    return new Recorded(ledger, new AuditTrail(log, nanos -> { }));
  }

  @Test
  void restartMidLease_spendAndLeasesSurvive_unrenewedLeaseChargedWholeAtExpiry() {
    Lease renewed;
    Lease abandoned;
    BudgetUsage root;
    BudgetUsage child;
    try (FileAuditLog log = openLog()) {
      Recorded cp = start(log);
      cp.issue("root", null, 10_000);
      cp.issue("child", "root", 4_000);
      cp.settle(cp.lease("root", "r1", 3_000), 1_200);
      Lease lost = cp.lease("child", "r3", 500);
      cp.ledger.renew(lost.leaseId(), 100, 50);
      clock.advance(TTL.plusSeconds(1));
      cp.expire(); // r3 died: its last report (150) is charged
      renewed = cp.lease("child", "r1", 2_000);
      cp.ledger.renew(renewed.leaseId(), 500, 0); // renewals are not recorded
      abandoned = cp.lease("root", "r2", 1_000);
      root = cp.ledger.usage("root");
      child = cp.ledger.usage("child");
    }
    assertEquals(new BudgetUsage("root", 10_000, 1_350, 3_000, 5_650), root);
    assertEquals(new BudgetUsage("child", 4_000, 150, 2_000, 1_850), child);

    clock.advance(Duration.ofSeconds(5));
    try (FileAuditLog log = openLog()) {
      Recorded cp = start(log);
      assertEquals(root, cp.ledger.usage("root"), "spent and leased as before the restart");
      assertEquals(child, cp.ledger.usage("child"));
      assertEquals(4_350, cp.ledger.agentUsage("summarizer").spent()
          + cp.ledger.agentUsage("summarizer").leased(), "the agent's window as well");
      assertEquals(
          List.of(clock.millis() + TTL.toMillis(), clock.millis() + TTL.toMillis()),
          cp.ledger.outstandingLeases().stream().map(Lease::expiresAtMs).toList(),
          "restored leases live a fresh ttl from the restart");

      // r1 is alive and renews its lease under its id; r2 never comes back.
      cp.ledger.renew(renewed.leaseId(), 700, 100);
      clock.advance(TTL.plusSeconds(1));
      cp.expire();

      assertEquals(new BudgetUsage("root", 10_000, 1_350 + 800 + 1_000, 0, 6_850),
          cp.ledger.usage("root"), "r1's report charged; r2's unrenewed lease charged whole");
      assertThrows(BudgetRejectedException.class, () -> cp.ledger.settle(
          abandoned.leaseId(), 0), "an expired lease cannot be returned");
    }

    try (FileAuditLog log = openLog()) {
      Recorded cp = start(log);
      assertEquals(new BudgetUsage("root", 10_000, 3_150, 0, 6_850), cp.ledger.usage("root"),
          "the expiries were recorded: a second restart charges nothing twice");
      assertEquals(List.of(), cp.ledger.outstandingLeases());
    }
  }

  @Test
  void restoredLease_settledByItsReplica_chargesWhatItUsed() {
    Lease lease;
    try (FileAuditLog log = openLog()) {
      Recorded cp = start(log);
      cp.issue("root", null, 10_000);
      lease = cp.lease("root", "r1", 8_192);
    }
    try (FileAuditLog log = openLog()) {
      Recorded cp = start(log);
      cp.settle(lease, 300);
      assertEquals(new BudgetUsage("root", 10_000, 300, 0, 9_700), cp.ledger.usage("root"));
    }
    try (FileAuditLog log = openLog()) {
      assertEquals(new BudgetUsage("root", 10_000, 300, 0, 9_700),
          start(log).ledger.usage("root"));
    }
  }

  @Test
  void agentWindowExhausted_staysExhaustedAfterARestart_untilTheNextWindow() {
    try (FileAuditLog log = openLog()) {
      Recorded cp = start(log);
      cp.issue("a", null, 40_000);
      cp.issue("b", null, 40_000);
      cp.settle(cp.lease("a", "r1", 40_000), 40_000);
      cp.settle(cp.lease("b", "r1", 10_000), 10_000);
    }
    try (FileAuditLog log = openLog()) {
      Recorded cp = start(log);
      assertEquals(LeaseDecision.Refusal.AGENT_BUDGET_EXHAUSTED,
          cp.ledger.lease("b", "r1", 1).refusal(), "50 000 of the day's 50 000 are spent");
      clock.advance(Duration.ofDays(1));
      assertEquals(1_000, cp.lease("b", "r1", 1_000).amount(), "a new day, a new window");
    }
  }
}
