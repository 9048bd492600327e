package io.perishable.authz.budget;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.perishable.authz.budget.ReservationBook.LeaseReport;
import io.perishable.authz.testing.MutableClock;
import io.perishable.controlplane.budget.BudgetLedger;
import io.perishable.controlplane.budget.BudgetUsage;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * Several replicas' reservation books leasing from one control-plane {@link BudgetLedger}: the
 * two halves of the budget protocol together, without the network between them.
 */
class ReplicasRaceBudgetTest {
  private static final Duration TTL = Duration.ofSeconds(30);

  private final MutableClock clock = new MutableClock(Instant.parse("2026-11-25T00:00:00Z"));
  private final BudgetLedger ledger = new BudgetLedger(clock, TTL);
  private final ExecutorService network = Executors.newFixedThreadPool(2);

  /** A replica's view of the ledger, answering on another thread as a network call would. */
  private LeaseSource replica(String replicaId) {
    return new LeaseSource() {
      @Override
      public CompletionStage<Optional<Grant>> acquire(String tokenId, long amount) {
        return CompletableFuture.supplyAsync(() -> ledger.grant(tokenId, replicaId, amount)
            .map(l -> new Grant(l.leaseId(), l.amount(), TTL)), network);
      }
    };
  }

  private ReservationBook book(String replicaId) {
    return new ReservationBook(replica(replicaId), System::nanoTime, 2_000, 500,
        Duration.ofSeconds(5));
  }

  private void returnLeases(ReservationBook book, String tokenId) {
    for (LeaseReport r : book.leaseReports(tokenId)) {
      assertEquals(0, r.inFlight());
      ledger.settle(r.leaseId(), r.used());
    }
  }

  @Test
  void clientsThroughReplicas_admittedWorstCaseNeverExceedsBudget_usageAddsUp()
      throws Exception {
    long budget = 100_000;
    ledger.openRoot("t", budget);
    int replicas = 3;
    List<ReservationBook> books = new ArrayList<>();
    for (int i = 0; i < replicas; i++) {
      books.add(book("replica-" + i));
    }
    // Outstanding worst cases + settled usage, as the clients see them.
    AtomicLong committed = new AtomicLong();
    AtomicLong reported = new AtomicLong(); // what the upstream said each request used
    AtomicLong exhausted = new AtomicLong();
    AtomicLong requestIds = new AtomicLong();
    int clients = 8;
    ExecutorService pool = Executors.newFixedThreadPool(clients);
    try {
      List<Future<?>> done = new ArrayList<>();
      for (int c = 0; c < clients; c++) {
        done.add(pool.submit(() -> {
          ThreadLocalRandom random = ThreadLocalRandom.current();
          for (int i = 0; i < 400; i++) {
            ReservationBook book = books.get(random.nextInt(replicas));
            long worst = 1 + random.nextInt(1_500);
            String id = "req-" + requestIds.incrementAndGet();
            Admission a = book.reserve("t", id, worst).toCompletableFuture().join();
            if (a instanceof Admission.Exhausted) {
              exhausted.incrementAndGet();
              continue;
            }
            assertInstanceOf(Admission.Admitted.class, a);
            long now = committed.addAndGet(worst);
            assertTrue(now <= budget, () -> "admitted beyond the budget: " + now);
            long used = random.nextLong(worst + 1);
            // Counted before the book frees it, so this count never runs ahead of the book's.
            committed.addAndGet(used - worst);
            book.settle(id, used);
            reported.addAndGet(used);
          }
          return null;
        }));
      }
      for (Future<?> f : done) {
        f.get(120, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }
    for (ReservationBook book : books) {
      returnLeases(book, "t");
    }

    BudgetUsage usage = ledger.usage("t");
    assertEquals(reported.get(), usage.spent(), "settled usage is exactly what was reported");
    assertEquals(0, usage.leased());
    assertTrue(exhausted.get() > 0, "the race must actually reach the end of the budget");
  }

  @Test
  void replicaDiesHoldingALease_budgetRecoveredAfterExpiry() {
    ledger.openRoot("t", 5_000);
    ReservationBook dying = new ReservationBook(replica("dying"), System::nanoTime, 5_000, 0,
        Duration.ofSeconds(5));
    dying.reserve("t", "req-1", 300).toCompletableFuture().join();
    dying.settle("req-1", 120);
    LeaseReport report = dying.leaseReports("t").get(0);
    ledger.renew(report.leaseId(), report.used(), report.inFlight());

    ReservationBook survivor = book("survivor");
    Admission before = survivor.reserve("t", "req-2", 100).toCompletableFuture().join();
    assertInstanceOf(Admission.Exhausted.class, before, "the dead replica holds everything");

    clock.advance(TTL);
    ledger.expire();

    Admission after = survivor.reserve("t", "req-3", 100).toCompletableFuture().join();
    assertEquals(new Admission.Admitted(100), after);
    assertEquals(120, ledger.usage("t").spent(), "what the dead replica reported is charged");
  }

  /** Polls until {@code book} can reserve exactly {@code free} for "t" (answers are async). */
  private static void awaitFree(ReservationBook book, long free) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (book.free("t") != free) {
      assertTrue(System.nanoTime() < deadline, () -> "free stayed " + book.free("t"));
      Thread.onSpinWait();
    }
  }

  @Test
  void usageBeyondTheReservation_chargedInFullThroughTheNextLease() {
    ledger.openRoot("t", 5_000);
    ReservationBook book = book("replica");
    book.reserve("t", "req-1", 100).toCompletableFuture().join();

    book.settle("req-1", 2_600); // a default max_tokens the provider never saw: 2500 over

    awaitFree(book, 2 * 2_000 - 2_600);
    returnLeases(book, "t");
    assertEquals(new BudgetUsage("t", 5_000, 2_600, 0, 2_400), ledger.usage("t"),
        "all the reported usage is charged, the part beyond the first lease by the second");
  }

  @Test
  void usageBeyondTheBudget_spendStopsAtTheBudget() {
    ledger.openRoot("t", 3_000);
    ReservationBook book = book("replica");
    book.reserve("t", "req-1", 100).toCompletableFuture().join();

    book.settle("req-1", 4_000);

    awaitFree(book, 3_000 - 4_000);
    Admission next = book.reserve("t", "req-2", 1).toCompletableFuture().join();
    assertEquals(new Admission.Exhausted(1, 0), next);
    returnLeases(book, "t");
    assertEquals(new BudgetUsage("t", 3_000, 3_000, 0, 0), ledger.usage("t"),
        "the ledger takes the whole budget; the 1000 beyond it are the uncharged overrun");
  }
}
