package io.perishable.controlplane.budget;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.perishable.controlplane.MutableClock;
import io.perishable.controlplane.budget.BudgetRejectedException.Code;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class BudgetLedgerTest {
  private static final Duration TTL = Duration.ofSeconds(30);

  private final MutableClock clock = new MutableClock(Instant.parse("2026-11-25T00:00:00Z"));
  private final BudgetLedger ledger = new BudgetLedger(clock, TTL);

  private Lease grant(String token, String replica, long amount) {
    return ledger.grant(token, replica, amount).orElseThrow();
  }

  @Test
  void grant_withinBudget_fullAmountLeasedAndExpiresAfterTtl() {
    ledger.openRoot("root", 1000);

    Lease lease = grant("root", "r1", 300);

    assertEquals(300, lease.amount());
    assertEquals(clock.millis() + TTL.toMillis(), lease.expiresAtMs());
    assertEquals(new BudgetUsage("root", 1000, 0, 300, 700), ledger.usage("root"));
  }

  @Test
  void grant_moreThanLeft_cutToWhatIsLeft() {
    ledger.openRoot("root", 1000);
    grant("root", "r1", 800);

    Lease second = grant("root", "r2", 800);

    assertEquals(200, second.amount(), "the sum of leases never exceeds the budget");
    assertEquals(0, ledger.usage("root").available());
  }

  @Test
  void grant_everythingLeasedOrSpent_empty() {
    ledger.openRoot("root", 100);
    Lease lease = grant("root", "r1", 100);
    assertEquals(Optional.empty(), ledger.grant("root", "r2", 1));

    ledger.settle(lease.leaseId(), 100);

    assertEquals(Optional.empty(), ledger.grant("root", "r2", 1), "budget spent");
    assertEquals(new BudgetUsage("root", 100, 100, 0, 0), ledger.usage("root"));
  }

  @Test
  void settle_unusedPartAvailableAgain() {
    ledger.openRoot("root", 1000);
    Lease lease = grant("root", "r1", 600);

    ledger.settle(lease.leaseId(), 250);

    assertEquals(new BudgetUsage("root", 1000, 250, 0, 750), ledger.usage("root"));
    assertEquals(750, grant("root", "r2", 5000).amount());
  }

  @Test
  void leasedAndChargedTokens_allTokensTogether() {
    ledger.openRoot("a", 1000);
    ledger.openRoot("b", 1000);
    Lease a = grant("a", "r1", 300);
    grant("b", "r1", 200);
    ledger.settle(a.leaseId(), 120);

    assertEquals(200, ledger.leasedTokens());
    assertEquals(120, ledger.chargedTokens());
  }

  @Test
  void settle_twice_unknownLease() {
    ledger.openRoot("root", 1000);
    Lease lease = grant("root", "r1", 600);
    ledger.settle(lease.leaseId(), 10);

    BudgetRejectedException e =
        assertThrows(BudgetRejectedException.class, () -> ledger.settle(lease.leaseId(), 10));
    assertEquals(Code.UNKNOWN_LEASE, e.code());
    assertEquals(10, ledger.usage("root").spent(), "charged once");
  }

  @Test
  void settle_moreThanLeased_refusedAndNothingCharged() {
    ledger.openRoot("root", 1000);
    Lease lease = grant("root", "r1", 100);

    BudgetRejectedException e =
        assertThrows(BudgetRejectedException.class, () -> ledger.settle(lease.leaseId(), 101));
    assertEquals(Code.INVALID_AMOUNT, e.code());
    assertEquals(new BudgetUsage("root", 1000, 0, 100, 900), ledger.usage("root"));
  }

  @Test
  void expire_replicaGone_reportedChargedRestRecovered() {
    ledger.openRoot("root", 1000);
    Lease lease = grant("root", "dies", 1000);
    ledger.renew(lease.leaseId(), 120, 80);
    assertEquals(Optional.empty(), ledger.grant("root", "r2", 1));

    clock.advance(TTL.minusMillis(1));
    assertEquals(List.of(), ledger.expire(), "not before its ttl");
    clock.advance(Duration.ofMillis(1));
    List<Lease> expired = ledger.expire();

    assertEquals(List.of(lease.leaseId()), expired.stream().map(Lease::leaseId).toList());
    assertEquals(new BudgetUsage("root", 1000, 200, 0, 800), ledger.usage("root"),
        "used and in-flight charged, the rest recovered");
    assertEquals(800, grant("root", "r2", 1000).amount());
    assertThrows(BudgetRejectedException.class, () -> ledger.settle(lease.leaseId(), 0),
        "a late return after expiry is refused, not charged twice");
  }

  @Test
  void renew_extendsTheLease() {
    ledger.openRoot("root", 1000);
    Lease lease = grant("root", "r1", 500);
    clock.advance(TTL.minusSeconds(1));

    Lease renewed = ledger.renew(lease.leaseId(), 10, 0);
    clock.advance(Duration.ofSeconds(2));

    assertEquals(List.of(), ledger.expire());
    assertEquals(clock.millis() - 2000 + TTL.toMillis(), renewed.expiresAtMs());
  }

  @Test
  void renew_reportBeyondLease_refused() {
    ledger.openRoot("root", 1000);
    Lease lease = grant("root", "r1", 500);

    BudgetRejectedException e = assertThrows(BudgetRejectedException.class,
        () -> ledger.renew(lease.leaseId(), 300, 201));
    assertEquals(Code.INVALID_AMOUNT, e.code());
  }

  @Test
  void openChild_beyondParentAvailable_refused() {
    ledger.openRoot("root", 1000);
    grant("root", "r1", 700);

    BudgetRejectedException e = assertThrows(BudgetRejectedException.class,
        () -> ledger.openChild("child", "root", 301));
    assertEquals(Code.EXCEEDS_PARENT, e.code());
    ledger.openChild("child", "root", 300);
  }

  @Test
  void openChild_unknownParent_refused() {
    BudgetRejectedException e = assertThrows(BudgetRejectedException.class,
        () -> ledger.openChild("child", "nobody", 10));
    assertEquals(Code.UNKNOWN_TOKEN, e.code());
  }

  @Test
  void openRoot_twiceOrNonPositive_refused() {
    ledger.openRoot("root", 10);
    assertEquals(Code.DUPLICATE_ACCOUNT,
        assertThrows(BudgetRejectedException.class, () -> ledger.openRoot("root", 10)).code());
    assertEquals(Code.INVALID_AMOUNT,
        assertThrows(BudgetRejectedException.class, () -> ledger.openRoot("other", 0)).code());
  }

  @Test
  void child_spendIsChargedToEveryAncestor() {
    ledger.openRoot("root", 1000);
    ledger.openChild("child", "root", 400);
    ledger.openChild("grandchild", "child", 100);

    Lease lease = grant("grandchild", "r1", 1000);
    assertEquals(100, lease.amount(), "cut to the grandchild's own budget");
    ledger.settle(lease.leaseId(), 60);

    assertEquals(new BudgetUsage("grandchild", 100, 60, 0, 40), ledger.usage("grandchild"));
    assertEquals(new BudgetUsage("child", 400, 60, 0, 340), ledger.usage("child"));
    assertEquals(new BudgetUsage("root", 1000, 60, 0, 940), ledger.usage("root"));
  }

  @Test
  void child_cannotDrawBeyondWhatTheParentHasLeft() {
    ledger.openRoot("root", 1000);
    ledger.openChild("child", "root", 800);
    Lease parentLease = grant("root", "r1", 900);

    assertEquals(100, grant("child", "r2", 800).amount(),
        "the parent's own leases leave the child only 100");
    assertEquals(Optional.empty(), ledger.grant("child", "r2", 1));
    ledger.settle(parentLease.leaseId(), 0);
    assertEquals(700, grant("child", "r2", 800).amount());
  }

  @Test
  void openIssued_rootWithoutBudget_noAccount() {
    assertEquals(0, ledger.openIssued("root", null, 0, false));
    assertEquals(Code.UNKNOWN_TOKEN,
        assertThrows(BudgetRejectedException.class, () -> ledger.usage("root")).code());
  }

  @Test
  void openIssued_childAsksNothing_getsWhatTheParentHasAvailable() {
    assertEquals(1000, ledger.openIssued("root", null, 1000, false));
    grant("root", "r1", 400);

    assertEquals(600, ledger.openIssued("child", "root", 0, false));
    assertEquals(600, ledger.usage("child").limit());
  }

  @Test
  void openIssued_childAsksTooMuch_refusedOrNarrowed() {
    ledger.openIssued("root", null, 1000, false);

    assertEquals(Code.EXCEEDS_PARENT, assertThrows(BudgetRejectedException.class,
        () -> ledger.openIssued("child", "root", 1001, false)).code());
    assertEquals(1000, ledger.openIssued("child", "root", 1001, true));
  }

  @Test
  void openIssued_parentSpent_refusedEvenWithNarrow() {
    ledger.openIssued("root", null, 10, false);
    ledger.settle(grant("root", "r1", 10).leaseId(), 10);

    assertEquals(Code.EXCEEDS_PARENT, assertThrows(BudgetRejectedException.class,
        () -> ledger.openIssued("child", "root", 0, true)).code());
  }

  @Test
  void openIssued_parentUnknown_refused() {
    assertEquals(Code.UNKNOWN_TOKEN, assertThrows(BudgetRejectedException.class,
        () -> ledger.openIssued("child", "forgotten", 5, false)).code());
  }

  @Test
  void grant_unknownToken_refused() {
    assertEquals(Code.UNKNOWN_TOKEN, assertThrows(BudgetRejectedException.class,
        () -> ledger.grant("nobody", "r1", 1)).code());
  }

  /**
   * Replicas race one budget (a root and a child drawing on it) from many threads: grant, then
   * settle with a random share. At no point do leases plus spend exceed the budget, and at the
   * end the spend is exactly the sum of what was settled.
   */
  @Test
  void concurrentReplicas_neverLeaseMoreThanTheBudget_spendAddsUp() throws Exception {
    long budget = 50_000;
    ledger.openRoot("root", budget);
    ledger.openChild("child", "root", 20_000);
    int threads = 8;
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    CountDownLatch start = new CountDownLatch(1);
    List<Future<Long>> charged = new ArrayList<>();
    try {
      for (int t = 0; t < threads; t++) {
        String replica = "r" + t;
        charged.add(pool.submit(() -> {
          start.await();
          ThreadLocalRandom random = ThreadLocalRandom.current();
          long mine = 0;
          for (int i = 0; i < 2_000; i++) {
            String token = random.nextBoolean() ? "root" : "child";
            Optional<Lease> lease = ledger.grant(token, replica, 1 + random.nextInt(500));
            BudgetUsage root = ledger.usage("root");
            assertTrue(root.spent() + root.leased() <= budget, () -> "overcommitted: " + root);
            if (lease.isPresent()) {
              long used = random.nextLong(lease.get().amount() + 1);
              ledger.settle(lease.get().leaseId(), used);
              mine += used;
            }
          }
          return mine;
        }));
      }
      start.countDown();
      long settled = 0;
      for (Future<Long> f : charged) {
        settled += f.get(60, TimeUnit.SECONDS);
      }
      BudgetUsage root = ledger.usage("root");
      assertEquals(settled, root.spent());
      assertEquals(0, root.leased());
      assertTrue(root.spent() <= budget);
      assertTrue(ledger.usage("child").spent() <= 20_000);
    } finally {
      pool.shutdownNow();
    }
  }

  // ------------------------------------------------------------ per-agent budgets per period

  private final BudgetLedger agents = new BudgetLedger(clock, TTL,
      List.of(new AgentBudget("summarizer", 1000, Duration.ofDays(1))));

  @Test
  void agentBudget_leaseCutToWhatTheWindowHasLeft_acrossTheAgentsTokens() {
    agents.openIssued("a", "summarizer", null, 800, false);
    agents.openIssued("b", "summarizer", null, 800, false);

    assertEquals(800, agents.lease("a", "r1", 800).lease().amount());
    LeaseDecision b = agents.lease("b", "r1", 800);

    assertEquals(200, b.lease().amount(), "the day's 1000 less a's 800");
    assertEquals(new AgentWindow("summarizer", Instant.parse("2026-11-25T00:00:00Z")
        .toEpochMilli(), Duration.ofDays(1).toMillis()), b.window());
    assertEquals(LeaseDecision.Refusal.AGENT_BUDGET_EXHAUSTED,
        agents.lease("b", "r2", 1).refusal());
    assertEquals(1, agents.agentRefusals());
  }

  @Test
  void agentBudget_tokenExhaustedFirst_refusedAsTheTokensBudget() {
    agents.openIssued("a", "summarizer", null, 100, false);
    agents.lease("a", "r1", 100);

    assertEquals(LeaseDecision.Refusal.BUDGET_EXHAUSTED, agents.lease("a", "r1", 1).refusal());
  }

  @Test
  void agentBudget_leaseChargedToTheWindowItWasGrantedIn() {
    agents.openIssued("a", "summarizer", null, 5000, false);
    clock.advance(Duration.ofHours(23).plusMinutes(59));
    Lease lease = agents.lease("a", "r1", 1000).lease();
    clock.advance(Duration.ofMinutes(2)); // the next day

    agents.settle(lease.leaseId(), 700);

    assertEquals(0, agents.agentUsage("summarizer").spent(), "today's window is untouched");
    assertEquals(700, agents.agentChargedTokens());
    assertEquals(1000, agents.lease("a", "r1", 5000).lease().amount());
  }

  @Test
  void agentBudget_childDrawsFromItsRootsAgent_evenUnderAnotherAgentId() {
    agents.openIssued("root", "summarizer", null, 5000, false);
    agents.openIssued("child", "helper", "root", 2000, false);

    Lease lease = agents.lease("child", "r1", 2000).lease();

    assertEquals(1000, lease.amount(), "bounded by the summarizer's day");
    assertEquals(1000, agents.agentUsage("summarizer").leased());
  }

  @Test
  void agentBudget_rootTokenWithoutABudget_getsTheAgentsPeriodBudget() {
    assertEquals(1000, agents.openIssued("a", "summarizer", null, 0, false));
    assertEquals(0, agents.openIssued("b", "other", null, 0, false), "no agent budget: none");
  }

  @Test
  void agentUsage_unknownAgent_rejected() {
    assertEquals(Code.UNKNOWN_AGENT, assertThrows(BudgetRejectedException.class,
        () -> agents.agentUsage("other")).code());
  }

  @Test
  void cancel_undoesTheGrant_chargingNothing() {
    ledger.openRoot("root", 1000);
    Lease lease = grant("root", "r1", 600);

    ledger.cancel(lease.leaseId());

    assertEquals(new BudgetUsage("root", 1000, 0, 0, 1000), ledger.usage("root"));
    assertEquals(0, ledger.chargedTokens());
  }

  @Test
  void restoredLease_unrenewed_chargedWholeAtExpiry_renewed_chargedItsReport() {
    ledger.restoreAccount("root", "", null, 10_000, 2_000);
    ledger.restoreAccount("child", "", "root", 5_000, 500);
    ledger.restoreLease("l1", "child", "r1", 1_000, null);
    ledger.restoreLease("l2", "root", "r2", 3_000, null);
    assertEquals(new BudgetUsage("root", 10_000, 2_500, 4_000, 3_500), ledger.usage("root"),
        "a child's charges are its ancestors' too");

    ledger.renew("l1", 100, 50);
    clock.advance(TTL);
    ledger.expire();

    assertEquals(new BudgetUsage("root", 10_000, 2_500 + 150 + 3_000, 0, 4_350),
        ledger.usage("root"));
  }
}
