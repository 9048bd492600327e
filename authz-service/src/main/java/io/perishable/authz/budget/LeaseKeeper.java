package io.perishable.authz.budget;

import io.grpc.Status;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Keeps this replica's leases in step with the control plane, every {@code interval}: renews
 * every lease with its usage and in-flight reservations (so that, should this replica die, the
 * control plane charges what it had in flight and recovers the rest), stops spending a lease
 * the control plane no longer holds, and returns the leases of tokens that have gone idle, so
 * their unused budget is available to other replicas again. Reservations no metered response
 * settled within {@code maxReservationAge} are charged their worst case, so they cannot hold a
 * token's budget forever.
 */
public final class LeaseKeeper implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(LeaseKeeper.class.getName());

  private final ReservationBook book;
  private final BudgetLeaseClient client;
  private final LongSupplier nanoTicker;
  private final ScheduledFuture<?> task;
  private final Duration maxReservationAge;

  /**
   * @param interval well under the control plane's lease ttl (a third of it, say)
   * @param maxReservationAge longer than any response may take (Envoy's route timeout): a
   *     reservation still unsettled after this is charged its worst case
   */
  public LeaseKeeper(ReservationBook book, BudgetLeaseClient client, LongSupplier nanoTicker,
      ScheduledExecutorService scheduler, Duration interval, Duration maxReservationAge) {
    this.maxReservationAge = maxReservationAge;
    this.book = book;
    this.client = client;
    this.nanoTicker = nanoTicker;
    this.task = scheduler.scheduleWithFixedDelay(this::tick, interval.toMillis(),
        interval.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** One round: renew everything, then return what is idle. Public for tests. */
  public void tick() {
    try {
      int abandoned = book.abandonOlderThan(maxReservationAge);
      if (abandoned > 0) {
        LOG.warning(() -> abandoned + " budget reservations were never settled by a metered "
            + "response; charged at their worst case");
      }
      for (Map.Entry<String, List<ReservationBook.LeaseReport>> e :
          book.allLeaseReports().entrySet()) {
        for (ReservationBook.LeaseReport report : e.getValue()) {
          renew(e.getKey(), report);
        }
      }
      for (ReservationBook.LeaseReport report : book.retireIdle()) {
        client.giveBack(report.leaseId(), report.used()).exceptionally(t -> {
          // The control plane charges the last renewal's report when the lease expires.
          LOG.log(Level.FINE, "returning a budget lease failed; it will expire", t);
          return null;
        });
      }
    } catch (RuntimeException e) {
      LOG.log(Level.WARNING, "budget lease upkeep failed", e);
    }
  }

  private void renew(String tokenId, ReservationBook.LeaseReport report) {
    long askedAt = nanoTicker.getAsLong();
    client.renew(report).whenComplete((lease, failure) -> {
      if (failure == null) {
        book.renewed(tokenId, report.leaseId(), askedAt, lease);
        return;
      }
      Throwable cause = failure instanceof CompletionException ? failure.getCause() : failure;
      if (Status.fromThrowable(cause).getCode() == Status.Code.NOT_FOUND) {
        book.lost(tokenId, report.leaseId());
      }
      // Otherwise (control plane unreachable) the lease runs out on this replica's own clock.
    });
  }

  @Override
  public void close() {
    task.cancel(false);
  }
}
