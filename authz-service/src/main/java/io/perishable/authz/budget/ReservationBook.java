package io.perishable.authz.budget;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;
import java.util.logging.Logger;
import javax.annotation.concurrent.GuardedBy;

/**
 * This replica's reservations against the budget it leased from the control plane.
 *
 * <p>For each token the book holds the leases granted to this replica. A request is admitted
 * only by reserving its worst case against them, atomically; when its response completes it
 * settles with the real usage, and what it reserved beyond that is free again. When the leased
 * budget runs low the book asks the {@link LeaseSource} for another chunk in the background; a
 * request that does not fit waits for that chunk (one round trip per chunk, not per request),
 * and is refused ({@link Admission.Exhausted}) when the control plane has nothing more to lease.
 *
 * <p>A lease is used only until {@code ttl - safetyMargin} after it was asked for, measured on
 * this replica's monotonic ticker: past that the control plane may have taken it back and leased
 * it again, so its unreserved part is no longer spent here.
 *
 * <p>Thread-safe: one lock per token, futures completed outside it.
 */
public final class ReservationBook {
  private static final Logger LOG = Logger.getLogger(ReservationBook.class.getName());

  private final LeaseSource leases;
  private final LongSupplier nanoTicker;
  private final long chunk;
  private final long lowWater;
  private final long safetyMarginNanos;
  private final Map<String, Funds> funds = new ConcurrentHashMap<>();
  private final Map<String, Reservation> reservations = new ConcurrentHashMap<>();

  /**
   * @param chunk how many LLM tokens to lease at a time (more when one request needs more)
   * @param lowWater ask for the next chunk in the background once less than this is free
   * @param safetyMargin stop using a lease this long before the control plane would expire it
   */
  public ReservationBook(LeaseSource leases, LongSupplier nanoTicker, long chunk, long lowWater,
      Duration safetyMargin) {
    if (chunk < 1) {
      throw new IllegalArgumentException("lease chunk must be at least 1, got " + chunk);
    }
    if (lowWater < 0 || lowWater > chunk) {
      throw new IllegalArgumentException(
          "low water must lie in [0, chunk " + chunk + "], got " + lowWater);
    }
    this.leases = leases;
    this.nanoTicker = nanoTicker;
    this.chunk = chunk;
    this.lowWater = lowWater;
    this.safetyMarginNanos = safetyMargin.toNanos();
  }

  /**
   * What one settled request cost.
   *
   * @param charged the usage reported, all of it
   * @param overrun how much of it exceeded the reservation
   */
  public record Settlement(String tokenId, long reserved, long charged, long overrun) {}

  /** One lease as this replica uses it, for renewing or returning it to the control plane. */
  public record LeaseReport(String leaseId, long amount, long used, long inFlight) {}

  private record Reservation(String tokenId, long amount, long sinceNanos) {}

  private record Waiter(String requestId, long worstCase, CompletableFuture<Admission> answer) {}

  /**
   * Reserves {@code worstCase} LLM tokens of {@code tokenId}'s budget for request {@code
   * requestId}. Completes at once when the leased budget covers it, else when a new lease
   * arrives or the control plane says there is none.
   *
   * @param requestId unique per request (Envoy's {@code x-request-id}); settles the reservation
   */
  public CompletionStage<Admission> reserve(String tokenId, String requestId, long worstCase) {
    if (worstCase < 1) {
      throw new IllegalArgumentException("worst case must be at least 1, got " + worstCase);
    }
    if (reservations.containsKey(requestId)) {
      throw new IllegalArgumentException("request " + requestId + " already holds a reservation");
    }
    CompletableFuture<Admission> answer = new CompletableFuture<>();
    long ask;
    Funds f;
    while (true) {
      f = funds.computeIfAbsent(tokenId, Funds::new);
      synchronized (f) {
        if (!f.retired) {
          ask = admitOrQueue(f, requestId, worstCase, answer);
          break;
        }
      }
    }
    acquire(f, ask);
    return answer;
  }

  @GuardedBy("f")
  private long admitOrQueue(Funds f, String requestId, long worstCase,
      CompletableFuture<Admission> answer) {
    f.dropExpired(nanoTicker.getAsLong());
    if (f.waiters.isEmpty() && f.free() >= worstCase) {
      f.reserved += worstCase;
      reservations.put(requestId,
          new Reservation(f.tokenId, worstCase, nanoTicker.getAsLong()));
      answer.complete(new Admission.Admitted(worstCase));
    } else {
      f.waiters.add(new Waiter(requestId, worstCase, answer));
    }
    return f.askIfNeeded();
  }

  /**
   * Settles a request with the usage the provider reported, all of it. Usage above the
   * reservation (possible only when the worst case assumed a configured default max_tokens the
   * provider did not know of) is returned as {@code overrun} and charged against the rest of
   * this replica's leases; beyond them it is a debt the next lease pays first, so requests that
   * follow are admitted only from what is left after it. What no lease can cover because the
   * budget is spent out is not charged anywhere (see docs/budgets.md, "Default max_tokens").
   *
   * @return empty when the request holds no reservation (never reserved, or settled already)
   */
  public Optional<Settlement> settle(String requestId, long used) {
    if (used < 0) {
      throw new IllegalArgumentException("usage must not be negative, got " + used);
    }
    Reservation r = reservations.remove(requestId);
    if (r == null) {
      return Optional.empty();
    }
    Funds f = funds.get(r.tokenId);
    List<Waiter> admitted;
    long ask;
    synchronized (f) {
      f.reserved -= r.amount;
      f.used += used;
      admitted = f.admitWaiters();
      ask = f.askIfNeeded();
    }
    complete(admitted);
    acquire(f, ask);
    return Optional.of(new Settlement(r.tokenId, r.amount, used, Math.max(0, used - r.amount)));
  }

  /**
   * Settles a request whose usage will never be known (the stream was cut, the upstream
   * failed mid-way): the provider may bill what it generated, so the whole worst case is
   * charged.
   */
  public Optional<Settlement> abandon(String requestId) {
    Reservation r = reservations.get(requestId);
    return r == null ? Optional.empty() : settle(requestId, r.amount);
  }

  /**
   * Settles, at their whole worst case, reservations held longer than {@code maxAge}: their
   * responses were never metered here (the ext_proc stream failed, or went to another replica),
   * so their usage will never be known.
   *
   * @return how many were settled
   */
  public int abandonOlderThan(Duration maxAge) {
    long now = nanoTicker.getAsLong();
    int abandoned = 0;
    for (Map.Entry<String, Reservation> e : reservations.entrySet()) {
      if (now - e.getValue().sinceNanos() > maxAge.toNanos()
          && abandon(e.getKey()).isPresent()) {
        abandoned++;
      }
    }
    return abandoned;
  }

  /** This replica's leases on {@code tokenId}, usage spread over them in order. */
  public List<LeaseReport> leaseReports(String tokenId) {
    Funds f = funds.get(tokenId);
    if (f == null) {
      return List.of();
    }
    synchronized (f) {
      return f.reports();
    }
  }

  /** What this replica can still reserve for {@code tokenId} without asking for a lease. */
  public long free(String tokenId) {
    Funds f = funds.get(tokenId);
    if (f == null) {
      return 0;
    }
    synchronized (f) {
      f.dropExpired(nanoTicker.getAsLong());
      return f.free();
    }
  }

  /** Every lease this replica holds, by token, usage spread over each token's leases in order. */
  public Map<String, List<LeaseReport>> allLeaseReports() {
    Map<String, List<LeaseReport>> out = new HashMap<>();
    for (Funds f : funds.values()) {
      synchronized (f) {
        if (!f.leases.isEmpty()) {
          out.put(f.tokenId, f.reports());
        }
      }
    }
    return out;
  }

  /**
   * The control plane renewed a lease: it is usable until {@code ttl - safetyMargin} (at least
   * half the ttl) after the renewal was asked for.
   */
  public void renewed(String tokenId, String leaseId, long askedAtNanos, Duration ttl) {
    Funds f = funds.get(tokenId);
    if (f == null) {
      return;
    }
    synchronized (f) {
      for (LocalLease l : f.leases) {
        if (l.leaseId.equals(leaseId) && l.forfeited == 0) {
          l.usableUntilNanos = usableUntil(askedAtNanos, ttl);
        }
      }
    }
  }

  /** The control plane no longer holds a lease (it expired there): stop spending it now. */
  public void lost(String tokenId, String leaseId) {
    Funds f = funds.get(tokenId);
    if (f == null) {
      return;
    }
    synchronized (f) {
      long now = nanoTicker.getAsLong();
      for (LocalLease l : f.leases) {
        if (l.leaseId.equals(leaseId)) {
          l.usableUntilNanos = now;
        }
      }
      f.dropExpired(now);
    }
  }

  /**
   * Removes every token with nothing reserved, waited for or being leased, so its unused
   * budget can go back to the control plane.
   *
   * @return the final report of each lease removed: return each with its {@code used}
   */
  public List<LeaseReport> retireIdle() {
    List<LeaseReport> out = new ArrayList<>();
    for (Funds f : funds.values()) {
      synchronized (f) {
        if (f.reserved == 0 && f.waiters.isEmpty() && !f.acquiring) {
          out.addAll(f.reports());
          f.retired = true;
          funds.remove(f.tokenId, f);
        }
      }
    }
    return out;
  }

  private void acquire(Funds f, long ask) {
    if (ask <= 0) {
      return;
    }
    long askedAt = nanoTicker.getAsLong();
    CompletionStage<Optional<LeaseSource.Grant>> pending;
    try {
      pending = leases.acquire(f.tokenId, ask);
    } catch (RuntimeException e) {
      pending = CompletableFuture.failedFuture(e);
    }
    pending.whenComplete((grant, failure) -> {
      List<Waiter> admitted;
      List<Waiter> refused = new ArrayList<>();
      long available;
      long next;
      long uncharged = 0;
      synchronized (f) {
        f.acquiring = false;
        if (failure == null && grant.isPresent()) {
          LeaseSource.Grant g = grant.get();
          f.leases.add(new LocalLease(g.leaseId(), g.amount(), usableUntil(askedAt, g.ttl())));
          f.dropExpired(nanoTicker.getAsLong());
          admitted = f.admitWaiters();
          next = f.askIfNeeded();
        } else {
          // Nothing more to lease: admit whoever fits what is left, refuse the rest.
          admitted = new ArrayList<>();
          for (Waiter w : f.waiters) {
            if (f.free() >= w.worstCase) {
              f.reserve(w);
              admitted.add(w);
            } else {
              refused.add(w);
            }
          }
          f.waiters.clear();
          next = 0;
          if (failure == null && f.free() < 0 && !f.debtWarned) {
            f.debtWarned = true;
            uncharged = -f.free();
          }
        }
        available = Math.max(0, f.free()); // a debt (free < 0) leaves nothing
      }
      if (uncharged > 0) {
        long n = uncharged;
        LOG.warning(() -> "token " + f.tokenId + ": " + n + " LLM tokens of reported usage "
            + "beyond the reservations exceed what is left of its budget and are not charged "
            + "(requests admitted on authz.budget.default_max_tokens generated more)");
      }
      complete(admitted);
      Throwable cause = failure instanceof CompletionException && failure.getCause() != null
          ? failure.getCause() : failure;
      for (Waiter w : refused) {
        w.answer.complete(cause instanceof AgentBudgetExhaustedException
            ? new Admission.AgentExhausted(w.worstCase, available)
            : cause != null
            ? new Admission.Unavailable("no budget lease from the control plane: "
                + cause.getClass().getSimpleName())
            : new Admission.Exhausted(w.worstCase, available));
      }
      acquire(f, next);
    });
  }

  /**
   * Until when a lease of {@code ttl}, asked for at {@code askedAtNanos}, may be spent: the
   * safety margin before its ttl, or half the ttl when the ttl is shorter than twice the margin
   * (a misconfiguration the lease client warns of; the lease is still usable, only briefly).
   */
  private long usableUntil(long askedAtNanos, Duration ttl) {
    long ttlNanos = ttl.toNanos();
    return askedAtNanos + ttlNanos - Math.min(safetyMarginNanos, ttlNanos / 2);
  }

  private void complete(List<Waiter> admitted) {
    for (Waiter w : admitted) {
      w.answer.complete(new Admission.Admitted(w.worstCase));
    }
  }

  private static final class LocalLease {
    final String leaseId;
    final long amount;
    long usableUntilNanos;
    /** Part of amount no longer spendable here because the lease's time ran out. */
    long forfeited;

    LocalLease(String leaseId, long amount, long usableUntilNanos) {
      this.leaseId = leaseId;
      this.amount = amount;
      this.usableUntilNanos = usableUntilNanos;
    }
  }

  /** One token's leases and reservations on this replica. */
  private final class Funds {
    final String tokenId;

    @GuardedBy("this")
    final List<LocalLease> leases = new ArrayList<>();

    @GuardedBy("this")
    final ArrayDeque<Waiter> waiters = new ArrayDeque<>();

    @GuardedBy("this")
    long reserved;

    @GuardedBy("this")
    long used;

    @GuardedBy("this")
    boolean acquiring;

    /** The control plane had no budget left for a debt, and that was logged. */
    @GuardedBy("this")
    boolean debtWarned;

    /** Removed from the book: a reservation arriving now must use a fresh Funds. */
    @GuardedBy("this")
    boolean retired;

    Funds(String tokenId) {
      this.tokenId = tokenId;
    }

    @GuardedBy("this")
    long free() {
      long leased = 0;
      for (LocalLease l : leases) {
        leased += l.amount - l.forfeited;
      }
      return leased - reserved - used;
    }

    /**
     * A lease past its usable time keeps only what is already used or reserved against it
     * (spread over leases in order); its unreserved rest is forfeited.
     */
    @GuardedBy("this")
    void dropExpired(long now) {
      long committed = reserved + used;
      for (LocalLease l : leases) {
        long onThis = Math.min(committed, l.amount - l.forfeited);
        committed -= onThis;
        if (now - l.usableUntilNanos >= 0) {
          l.forfeited = l.amount - onThis;
        }
      }
    }

    /** Admits waiting requests in order while they fit; the first that does not fit waits. */
    @GuardedBy("this")
    List<Waiter> admitWaiters() {
      List<Waiter> admitted = new ArrayList<>();
      for (Iterator<Waiter> it = waiters.iterator(); it.hasNext(); ) {
        Waiter w = it.next();
        if (free() < w.worstCase) {
          break;
        }
        reserve(w);
        admitted.add(w);
        it.remove();
      }
      return admitted;
    }

    @GuardedBy("this")
    void reserve(Waiter w) {
      reserved += w.worstCase;
      reservations.put(w.requestId,
          new Reservation(tokenId, w.worstCase, nanoTicker.getAsLong()));
    }

    /** How much to ask the control plane for now (0: nothing), marking an ask in progress. */
    @GuardedBy("this")
    long askIfNeeded() {
      if (acquiring) {
        return 0;
      }
      long free = free();
      // A debt (usage settled beyond the leases, free < 0) is paid from the next lease first.
      long needed = Math.max(-free, waiters.isEmpty() ? 0 : waiters.peek().worstCase - free);
      if (needed <= 0 && free >= lowWater) {
        return 0;
      }
      acquiring = true;
      return Math.max(chunk, needed);
    }

    @GuardedBy("this")
    List<LeaseReport> reports() {
      long usedLeft = used;
      long reservedLeft = reserved;
      List<LeaseReport> out = new ArrayList<>(leases.size());
      for (LocalLease l : leases) {
        // As dropExpired spreads them: a lease past its time holds only what it held then.
        long room = l.amount - l.forfeited;
        long u = Math.min(usedLeft, room);
        usedLeft -= u;
        long r = Math.min(reservedLeft, room - u);
        reservedLeft -= r;
        out.add(new LeaseReport(l.leaseId, l.amount, u, r));
      }
      return out;
    }
  }
}
