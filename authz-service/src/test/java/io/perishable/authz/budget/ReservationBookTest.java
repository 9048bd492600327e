package io.perishable.authz.budget;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.perishable.authz.budget.ReservationBook.LeaseReport;
import io.perishable.authz.budget.ReservationBook.Settlement;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;

class ReservationBookTest {
  private static final Duration TTL = Duration.ofSeconds(30);
  private static final Duration MARGIN = Duration.ofSeconds(5);

  /** A control plane the test answers by hand: each ask waits until the test grants it. */
  private static final class ManualLeases implements LeaseSource {
    final ArrayDeque<Ask> asks = new ArrayDeque<>();
    int leaseIds;

    record Ask(String tokenId, long amount, CompletableFuture<Optional<Grant>> answer) {}

    @Override
    public CompletionStage<Optional<Grant>> acquire(String tokenId, long amount) {
      Ask ask = new Ask(tokenId, amount, new CompletableFuture<>());
      asks.add(ask);
      return ask.answer;
    }

    Ask next() {
      Ask ask = asks.poll();
      if (ask == null) {
        throw new AssertionError("the book asked for no lease");
      }
      return ask;
    }

    void grant(long amount) {
      next().answer.complete(Optional.of(new Grant("lease-" + ++leaseIds, amount, TTL)));
    }

    void refuse() {
      next().answer.complete(Optional.empty());
    }
  }

  private final AtomicLong nanos = new AtomicLong(7_000_000_000L);
  private final ManualLeases leases = new ManualLeases();
  private final ReservationBook book = new ReservationBook(leases, nanos::get, 1000, 200, MARGIN);

  private Admission now(CompletionStage<Admission> stage) {
    CompletableFuture<Admission> f = stage.toCompletableFuture();
    assertTrue(f.isDone(), "expected an answer without waiting for the control plane");
    return f.join();
  }

  @Test
  void reserve_firstRequest_waitsForOneChunkThenAdmitted() {
    CompletableFuture<Admission> first = book.reserve("t", "req-1", 300).toCompletableFuture();
    assertFalse(first.isDone());
    ManualLeases.Ask ask = leases.asks.peek();
    assertEquals(1000, ask.amount(), "asks for a whole chunk, not just this request");

    leases.grant(1000);

    assertEquals(new Admission.Admitted(300), first.join());
    assertEquals(700, book.free("t"));
  }

  @Test
  void reserve_withinLease_noRoundTrip() {
    book.reserve("t", "req-1", 100);
    leases.grant(1000);

    assertEquals(new Admission.Admitted(300), now(book.reserve("t", "req-2", 300)));
    assertEquals(new Admission.Admitted(400), now(book.reserve("t", "req-3", 400)));
    assertTrue(leases.asks.isEmpty(), "free 200 is not below low water yet");
  }

  @Test
  void reserve_belowLowWater_asksForNextChunkInBackground() {
    book.reserve("t", "req-1", 100);
    leases.grant(1000);

    assertEquals(new Admission.Admitted(750), now(book.reserve("t", "req-2", 750)));

    assertEquals(1, leases.asks.size(), "150 free is below the low water of 200");
    leases.grant(1000);
    assertEquals(1150, book.free("t"));
  }

  @Test
  void reserve_largerThanChunk_asksForWhatItNeeds() {
    book.reserve("t", "req-1", 5000);
    assertEquals(5000, leases.next().amount());
  }

  @Test
  void reserve_budgetGone_exhaustedNamingWhatIsLeft() {
    book.reserve("t", "req-1", 100);
    leases.grant(1000);
    now(book.reserve("t", "req-2", 850));
    leases.refuse(); // background top-up: the budget is gone

    CompletableFuture<Admission> big = book.reserve("t", "req-3", 60).toCompletableFuture();
    leases.refuse();

    assertEquals(new Admission.Exhausted(60, 50), big.join());
    assertEquals(new Admission.Admitted(50), now(book.reserve("t", "req-4", 50)),
        "a request that fits what is left still passes");
  }

  @Test
  void reserve_partialGrant_smallerWaitersBehindABigOneStillAdmitted() {
    CompletableFuture<Admission> big = book.reserve("t", "big", 900).toCompletableFuture();
    CompletableFuture<Admission> small = book.reserve("t", "small", 100).toCompletableFuture();
    leases.grant(500); // all that was left
    leases.refuse();

    assertInstanceOf(Admission.Exhausted.class, big.join());
    assertEquals(new Admission.Admitted(100), small.join());
  }

  @Test
  void reserve_controlPlaneUnreachable_unavailable() {
    CompletableFuture<Admission> f = book.reserve("t", "req-1", 100).toCompletableFuture();
    leases.next().answer().completeExceptionally(new IllegalStateException("down"));

    assertInstanceOf(Admission.Unavailable.class, f.join());
  }

  @Test
  void settle_realUsageCharged_restFreeAgain() {
    book.reserve("t", "req-1", 600);
    leases.grant(1000);

    Optional<Settlement> s = book.settle("req-1", 150);

    assertEquals(Optional.of(new Settlement("t", 600, 150, 0)), s);
    assertEquals(850, book.free("t"));
    assertEquals(List.of(new LeaseReport("lease-1", 1000, 150, 0)), book.leaseReports("t"));
  }

  @Test
  void settle_twice_secondIsEmpty() {
    book.reserve("t", "req-1", 600);
    leases.grant(1000);
    book.settle("req-1", 150);

    assertEquals(Optional.empty(), book.settle("req-1", 150));
    assertEquals(850, book.free("t"), "charged once");
  }

  @Test
  void settle_usageAboveReservation_allOfItChargedAndOverrunReported() {
    book.reserve("t", "req-1", 100);
    leases.grant(1000);

    assertEquals(Optional.of(new Settlement("t", 100, 120, 20)), book.settle("req-1", 120));
    assertEquals(880, book.free("t"));
    assertEquals(List.of(new LeaseReport("lease-1", 1000, 120, 0)), book.leaseReports("t"));
  }

  @Test
  void settle_usageBeyondEveryLease_debtPaidFromTheNextLeaseFirst() {
    book.reserve("t", "req-1", 100);
    leases.grant(1000);

    assertEquals(Optional.of(new Settlement("t", 100, 1300, 1200)), book.settle("req-1", 1300));

    assertEquals(-300, book.free("t"), "300 used beyond the lease");
    ManualLeases.Ask ask = leases.asks.peek();
    assertEquals(1000, ask.amount(), "asks for the next chunk at once");
    CompletableFuture<Admission> next = book.reserve("t", "req-2", 600).toCompletableFuture();
    leases.grant(1000);
    assertEquals(new Admission.Admitted(600), next.join());
    assertEquals(100, book.free("t"), "the new lease paid the debt of 300 first");
    assertEquals(List.of(new LeaseReport("lease-1", 1000, 1000, 0),
        new LeaseReport("lease-2", 1000, 300, 600)), book.leaseReports("t"));
  }

  @Test
  void settle_debtLargerThanAChunk_asksForAllOfIt() {
    book.reserve("t", "req-1", 100);
    leases.grant(1000);

    book.settle("req-1", 3500);

    assertEquals(2500, leases.next().amount());
  }

  @Test
  void settle_debtAndBudgetSpentOut_nothingAdmittedAndLeasesReportedFull() {
    book.reserve("t", "req-1", 100);
    leases.grant(1000);
    book.settle("req-1", 1300);
    leases.refuse(); // the budget has nothing left to lease

    CompletableFuture<Admission> next = book.reserve("t", "req-2", 1).toCompletableFuture();
    leases.refuse();

    assertEquals(new Admission.Exhausted(1, 0), next.join());
    assertEquals(List.of(new LeaseReport("lease-1", 1000, 1000, 0)), book.leaseReports("t"),
        "a lease never reports more than it holds: the control plane would refuse it");
  }

  @Test
  void settle_debtTheBudgetCannotCover_loggedOnce() {
    List<LogRecord> logged = new CopyOnWriteArrayList<>();
    Handler handler = new Handler() {
      @Override
      public void publish(LogRecord r) {
        logged.add(r);
      }

      @Override
      public void flush() {}

      @Override
      public void close() {}
    };
    Logger logger = Logger.getLogger(ReservationBook.class.getName());
    logger.addHandler(handler);
    try {
      book.reserve("t", "req-1", 100);
      leases.grant(1000);
      book.settle("req-1", 1300);
      assertEquals(List.of(), logged, "nothing to say while a lease may still pay the debt");

      leases.refuse();
      book.reserve("t", "req-2", 1);
      leases.refuse();

      assertEquals(1, logged.size(), "logged once per token, not per refusal");
      assertEquals(Level.WARNING, logged.get(0).getLevel());
      assertEquals("token t: 300 LLM tokens of reported usage beyond the reservations exceed "
          + "what is left of its budget and are not charged (requests admitted on "
          + "authz.budget.default_max_tokens generated more)", logged.get(0).getMessage());
    } finally {
      logger.removeHandler(handler);
    }
  }

  @Test
  void abandon_cutStream_chargesTheWholeReservation() {
    book.reserve("t", "req-1", 400);
    leases.grant(1000);

    assertEquals(Optional.of(new Settlement("t", 400, 400, 0)), book.abandon("req-1"));
    assertEquals(600, book.free("t"));
  }

  @Test
  void settle_freesRoomForAWaitingRequest() {
    book.reserve("t", "req-1", 100);
    leases.grant(1000);
    now(book.reserve("t", "req-2", 850));
    CompletableFuture<Admission> waiting = book.reserve("t", "req-3", 500).toCompletableFuture();
    assertFalse(waiting.isDone());

    book.settle("req-2", 10);

    assertEquals(new Admission.Admitted(500), waiting.join());
  }

  @Test
  void leaseReports_inFlightReservationsReported() {
    book.reserve("t", "req-1", 100);
    leases.grant(1000);
    book.reserve("t", "req-2", 300);
    book.settle("req-1", 40);

    assertEquals(List.of(new LeaseReport("lease-1", 1000, 40, 300)), book.leaseReports("t"));
  }

  @Test
  void lease_pastTtlMinusMargin_unreservedPartNoLongerSpent() {
    book.reserve("t", "req-1", 100);
    leases.grant(1000);
    nanos.addAndGet(TTL.minus(MARGIN).toNanos());

    CompletableFuture<Admission> later = book.reserve("t", "req-2", 100).toCompletableFuture();

    assertFalse(later.isDone(), "the old lease may already be leased to another replica");
    assertEquals(0, book.free("t"));
    leases.grant(1000);
    assertEquals(new Admission.Admitted(100), later.join());
    book.settle("req-1", 100);
    assertEquals(900, book.free("t"), "settling on the expired lease frees nothing there");
  }

  @Test
  void renewed_extendsWhereTheLeaseMayBeSpent() {
    book.reserve("t", "req-1", 100);
    leases.grant(1000);
    long renewedAt = nanos.addAndGet(Duration.ofSeconds(20).toNanos());
    book.renewed("t", "lease-1", renewedAt, TTL);
    nanos.addAndGet(Duration.ofSeconds(20).toNanos()); // past the first ttl, within the renewal

    assertEquals(new Admission.Admitted(100), now(book.reserve("t", "req-2", 100)));
  }

  @Test
  void lease_ttlShorterThanTwiceTheMargin_spentForHalfItsTtl() {
    CompletableFuture<Admission> first = book.reserve("t", "req-1", 100).toCompletableFuture();
    leases.next().answer().complete(
        Optional.of(new LeaseSource.Grant("short", 1000, Duration.ofSeconds(4))));
    assertEquals(new Admission.Admitted(100), first.join(), "usable although ttl < margin");

    nanos.addAndGet(Duration.ofMillis(1999).toNanos());
    assertEquals(900, book.free("t"));
    nanos.addAndGet(Duration.ofMillis(1).toNanos());
    assertEquals(0, book.free("t"), "not spent past half of its 4s ttl");
  }

  @Test
  void lost_leaseNoLongerSpent() {
    book.reserve("t", "req-1", 100);
    leases.grant(1000);

    book.lost("t", "lease-1");

    assertEquals(0, book.free("t"));
  }

  @Test
  void retireIdle_onlyTokensWithNothingInFlight_reportsTheirLeases() {
    book.reserve("t", "req-1", 100);
    leases.grant(1000);
    book.reserve("busy", "req-2", 100);
    leases.grant(1000);
    book.settle("req-1", 30);

    List<LeaseReport> retired = book.retireIdle();

    assertEquals(List.of(new LeaseReport("lease-1", 1000, 30, 0)), retired);
    assertEquals(0, book.free("t"), "retired: its leases are gone from this replica");
    assertEquals(900, book.free("busy"));
    CompletableFuture<Admission> again = book.reserve("t", "req-3", 10).toCompletableFuture();
    assertFalse(again.isDone(), "a retired token starts over with a fresh lease");
  }

  @Test
  void abandonOlderThan_neverMeteredReservationChargedAtWorstCase() {
    book.reserve("t", "old", 300);
    leases.grant(1000);
    book.renewed("t", "lease-1", nanos.addAndGet(Duration.ofMinutes(10).toNanos()),
        Duration.ofHours(1));
    assertEquals(new Admission.Admitted(100), now(book.reserve("t", "new", 100)));

    assertEquals(1, book.abandonOlderThan(Duration.ofMinutes(5)));

    assertEquals(Optional.empty(), book.settle("old", 1), "settled already");
    assertEquals(List.of(new LeaseReport("lease-1", 1000, 300, 100)), book.leaseReports("t"));
  }
}
