package io.perishable.controlplane.budget;

import io.perishable.controlplane.budget.BudgetRejectedException.Code;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import javax.annotation.Nullable;
import javax.annotation.concurrent.GuardedBy;

/**
 * Token budgets and the leases replicas hold on them.
 *
 * <p>Every token issued with a budget has an account: its {@code limit} (LLM tokens over its
 * whole life), what it has {@code spent}, and what replicas hold of it as outstanding leases.
 * A delegated token's account has its parent's as parent: whatever the child spends or leases
 * is also charged to every ancestor, so a subtree together never spends more than its root's
 * budget, and a child never more than its own.
 *
 * <p>Invariant, for every account at every moment: {@code spent + leased <= limit}. A replica
 * admits a request only by reserving its worst case against a lease it holds, so the worst cases
 * admitted by all replicas together never exceed the budget.
 *
 * <ul>
 *   <li>{@link #grant}: a replica asks for a chunk; it gets at most what the token and every
 *       ancestor have available (possibly less than asked), or nothing when the budget is gone.
 *   <li>{@link #renew}: the replica reports what it has used and what it has in flight, and the
 *       lease lives another {@code leaseTtl}.
 *   <li>{@link #settle}: the replica returns the lease with what it used; the rest is available
 *       again at once.
 *   <li>{@link #expire}: a lease not renewed within {@code leaseTtl} (its replica died or lost
 *       the control plane) is taken back: what the replica last reported as used or in flight is
 *       charged, the rest is available again. What a dead replica admitted after its last
 *       renewal is not charged: its crash can overspend by that much, at most its lease.
 * </ul>
 *
 * <p><b>Per-agent budgets per period</b> ({@link AgentBudget}): an account belongs to the agent
 * of its root token (a delegated token to its root's agent). When that agent has a budget, a
 * lease is also bounded by what the agent's current window has left, is charged to that window
 * whenever it returns, and a request the window cannot cover is refused as {@link
 * LeaseDecision.Refusal#AGENT_BUDGET_EXHAUSTED}.
 *
 * <p><b>Restart.</b> The ledger itself is memory; the audit log holds what rebuilds it (accounts
 * from {@code issued} records, leases from {@code budget_leased}, charges from {@code
 * budget_returned}), and {@link #restoreAccount} / {@link #restoreLease} put it back. Renewals
 * are not recorded, so a restored lease's replica report is unknown: it lives a fresh lease ttl
 * from the restart, and unless its replica renews it, it is charged in full at expiry.
 *
 * <p>One lock guards everything: a grant is a handful of additions along a short ancestor chain,
 * and replicas ask once per chunk, not once per request.
 */
public final class BudgetLedger {
  private static final SecureRandom RANDOM = new SecureRandom();

  private final Clock clock;
  private final Duration leaseTtl;

  @GuardedBy("this")
  private final Map<String, Account> accounts = new HashMap<>();

  @GuardedBy("this")
  private final Map<String, Held> leases = new HashMap<>();

  /** Agent windows with charges or leases (forgotten two periods after they end). */
  @GuardedBy("this")
  private final Map<AgentWindow, Window> windows = new LinkedHashMap<>();

  private final Map<String, AgentBudget> agentBudgets;

  /** LLM tokens charged to budgets since start (settled usage and expired leases' reports). */
  @GuardedBy("this")
  private long chargedTotal;

  /** LLM tokens charged to agent windows since start. */
  @GuardedBy("this")
  private long agentChargedTotal;

  /** Lease requests refused because an agent's window was spent, since start. */
  @GuardedBy("this")
  private long agentRefusals;

  /**
   * @param clock wall clock for lease expiry (tests pass a fake)
   * @param leaseTtl how long a lease lives without a renew; positive
   */
  public BudgetLedger(Clock clock, Duration leaseTtl) {
    this(clock, leaseTtl, List.of());
  }

  /**
   * @param clock wall clock for lease expiry and agent windows (tests pass a fake)
   * @param leaseTtl how long a lease lives without a renew; positive
   * @param agentBudgets per-agent budgets per period; at most one per agent
   */
  public BudgetLedger(Clock clock, Duration leaseTtl, List<AgentBudget> agentBudgets) {
    if (leaseTtl.isNegative() || leaseTtl.isZero()) {
      throw new IllegalArgumentException("lease ttl must be positive, got " + leaseTtl);
    }
    this.clock = clock;
    this.leaseTtl = leaseTtl;
    Map<String, AgentBudget> byAgent = new HashMap<>();
    for (AgentBudget b : agentBudgets) {
      if (byAgent.put(b.agentId(), b) != null) {
        throw new IllegalArgumentException("agent " + b.agentId() + " has two budgets");
      }
    }
    this.agentBudgets = Map.copyOf(byAgent);
  }

  /** One token's budget account. */
  private static final class Account {
    final String tokenId;
    final Account parent;
    final long limit;
    /** The agent whose per-period budget this account draws from: its root token's agent. */
    final String agentId;
    long spent;
    /** Outstanding leases on this account and on every descendant's. */
    long leased;

    Account(String tokenId, Account parent, long limit, String agentId) {
      this.tokenId = tokenId;
      this.parent = parent;
      this.limit = limit;
      this.agentId = parent != null ? parent.agentId : agentId;
    }

    long ownAvailable() {
      return limit - spent - leased;
    }
  }

  /** An agent's spend in one period window. */
  private static final class Window {
    long spent;
    long leased;
  }

  /** An outstanding lease and the replica's last report on it. */
  private static final class Held {
    final Lease granted;
    final Account account;
    @Nullable final AgentWindow window;
    long expiresAtMs;
    long reportedUsed;
    long reportedInFlight;
    /** Restored on restart and not renewed since: the replica's report is unknown. */
    boolean unreported;

    Held(Lease granted, Account account, @Nullable AgentWindow window) {
      this.granted = granted;
      this.account = account;
      this.window = window;
      this.expiresAtMs = granted.expiresAtMs();
    }

    /** What expiry charges: the last report, or the whole lease when none is known. */
    long chargeOnExpiry() {
      return unreported ? granted.amount() : reportedUsed + reportedInFlight;
    }

    Lease lease() {
      Lease g = granted;
      return new Lease(g.leaseId(), g.tokenId(), g.replicaId(), g.amount(), expiresAtMs);
    }
  }

  /**
   * Opens the account of a root token.
   *
   * @throws BudgetRejectedException {@code INVALID_AMOUNT} for a limit below 1, {@code
   *     DUPLICATE_ACCOUNT} if the token has one already
   */
  public synchronized void openRoot(String tokenId, long limit) {
    openRoot(tokenId, "", limit);
  }

  /** As {@link #openRoot(String, long)}, for a token of {@code agentId}. */
  public synchronized void openRoot(String tokenId, String agentId, long limit) {
    requirePositive(limit, "budget");
    requireNew(tokenId);
    accounts.put(tokenId, new Account(tokenId, null, limit, agentId));
  }

  /**
   * Opens the account of a delegated token under its parent's. The child may spend at most
   * {@code limit}, and only while its parent (and every ancestor) still has budget available.
   *
   * @throws BudgetRejectedException {@code UNKNOWN_TOKEN} if the parent has no account, {@code
   *     EXCEEDS_PARENT} if {@code limit} is more than the parent has available now
   */
  public synchronized void openChild(String tokenId, String parentTokenId, long limit) {
    requirePositive(limit, "budget");
    requireNew(tokenId);
    Account parent = account(parentTokenId);
    long parentAvailable = available(parent);
    if (limit > parentAvailable) {
      throw new BudgetRejectedException(Code.EXCEEDS_PARENT, "budget " + limit
          + " exceeds the " + parentAvailable + " tokens the parent has available");
    }
    accounts.put(tokenId, new Account(tokenId, parent, limit, null));
  }

  /**
   * Opens the account of a token being issued and says which budget to sign into its claims.
   *
   * <ul>
   *   <li>A root token (or a child of a token without a budget): {@code requested}, or no
   *       account and 0 when {@code requested} is 0.
   *   <li>A child of a token with a budget: {@code requested}, or everything the parent has
   *       available when it is 0; more than that is refused, or cut to it with {@code narrow}.
   * </ul>
   *
   * @param parentTokenId the parent's id when the parent's claims carry a budget, else null
   * @return the budget granted; 0 = none
   * @throws BudgetRejectedException {@code UNKNOWN_TOKEN} when the parent has a budget this
   *     ledger does not know (it was issued before a restart), {@code EXCEEDS_PARENT} when the
   *     parent has nothing left or less than asked without {@code narrow}
   */
  public synchronized long openIssued(String tokenId, String parentTokenId, long requested,
      boolean narrow) {
    return openIssued(tokenId, "", parentTokenId, requested, narrow);
  }

  /**
   * As {@link #openIssued(String, String, long, boolean)}, for a token of {@code agentId}. A
   * root token of an agent with a per-period budget asking for no budget gets one anyway, the
   * agent's budget per period, so that everything the agent spends is metered.
   */
  public synchronized long openIssued(String tokenId, String agentId, String parentTokenId,
      long requested, boolean narrow) {
    if (requested < 0) {
      throw new BudgetRejectedException(Code.INVALID_AMOUNT, "budget is out of range");
    }
    if (parentTokenId == null) {
      AgentBudget agent = agentBudgets.get(agentId);
      long budget = requested == 0 && agent != null ? agent.tokens() : requested;
      if (budget > 0) {
        openRoot(tokenId, agentId, budget);
      }
      return budget;
    }
    Account parent = account(parentTokenId);
    long available = available(parent);
    long budget = requested == 0 || (narrow && requested > available) ? available : requested;
    if (budget < 1) {
      throw new BudgetRejectedException(Code.EXCEEDS_PARENT,
          "the parent token has no budget left to give a child");
    }
    openChild(tokenId, parentTokenId, budget);
    return budget;
  }

  /**
   * Grants {@code replicaId} a lease of up to {@code requested} tokens of {@code tokenId}'s
   * budget: the smaller of that and what the token and every ancestor have available.
   *
   * @return the lease, or empty when nothing is available (the budget is exhausted, or entirely
   *     leased to other replicas)
   */
  public synchronized Optional<Lease> grant(String tokenId, String replicaId, long requested) {
    return Optional.ofNullable(lease(tokenId, replicaId, requested).lease());
  }

  /**
   * As {@link #grant}, saying why when nothing is granted: the token's budget, or its agent's
   * budget for the current window (which then also bounds the lease).
   */
  public synchronized LeaseDecision lease(String tokenId, String replicaId, long requested) {
    requirePositive(requested, "requested amount");
    Account account = account(tokenId);
    long now = clock.millis();
    AgentBudget agent = agentBudgets.get(account.agentId);
    AgentWindow key = null;
    long agentAvailable = Long.MAX_VALUE;
    if (agent != null) {
      key = new AgentWindow(agent.agentId(), agent.windowStartMs(now), agent.period().toMillis());
      Window w = windows.get(key);
      agentAvailable = w == null ? agent.tokens() : agent.tokens() - w.spent - w.leased;
    }
    long tokenAvailable = available(account);
    if (agentAvailable <= 0) {
      agentRefusals++;
      return new LeaseDecision(null, LeaseDecision.Refusal.AGENT_BUDGET_EXHAUSTED, key);
    }
    long amount = Math.min(requested, Math.min(tokenAvailable, agentAvailable));
    if (amount <= 0) {
      return new LeaseDecision(null, LeaseDecision.Refusal.BUDGET_EXHAUSTED, key);
    }
    Lease lease = new Lease(newLeaseId(), tokenId, replicaId, amount, now + leaseTtl.toMillis());
    book(new Held(lease, account, key));
    return new LeaseDecision(lease, LeaseDecision.Refusal.NONE, key);
  }

  @GuardedBy("this")
  private void book(Held held) {
    long amount = held.granted.amount();
    for (Account a = held.account; a != null; a = a.parent) {
      a.leased += amount;
    }
    if (held.window != null) {
      windows.computeIfAbsent(held.window, k -> new Window()).leased += amount;
    }
    leases.put(held.granted.leaseId(), held);
  }

  /**
   * Keeps a lease alive for another lease ttl and records the replica's report on it, which is
   * what {@link #expire} charges should the replica not come back.
   *
   * @param used tokens settled against the lease so far
   * @param inFlight worst cases of requests admitted against the lease and not yet settled
   * @throws BudgetRejectedException {@code UNKNOWN_LEASE}, or {@code INVALID_AMOUNT} when the
   *     figures are negative or together exceed the lease
   */
  public synchronized Lease renew(String leaseId, long used, long inFlight) {
    Held held = held(leaseId);
    requireWithin(held, used, inFlight);
    held.reportedUsed = used;
    held.reportedInFlight = inFlight;
    held.unreported = false;
    held.expiresAtMs = clock.millis() + leaseTtl.toMillis();
    return held.lease();
  }

  /**
   * Returns a lease: {@code used} is charged to the token and its ancestors for good, the rest
   * of the lease is available again.
   *
   * @throws BudgetRejectedException {@code UNKNOWN_LEASE} (returned twice, or expired: the
   *     ledger already charged it), or {@code INVALID_AMOUNT} for more than was leased
   */
  public synchronized ReturnedLease settle(String leaseId, long used) {
    Held held = held(leaseId);
    requireWithin(held, used, 0);
    close(held, used);
    return new ReturnedLease(held.lease(), used, ReturnedLease.SETTLED, held.window);
  }

  /**
   * Undoes a grant whose {@code budget_leased} record could not be written (its replica is
   * told the lease failed, so it never spends it): nothing is charged.
   */
  public synchronized void cancel(String leaseId) {
    Held held = leases.get(leaseId);
    if (held != null) {
      close(held, 0);
    }
  }

  /**
   * Takes back every lease whose ttl has passed, charging what its replica last reported as
   * used or in flight.
   *
   * @return the leases taken back
   */
  public synchronized List<Lease> expire() {
    List<Lease> expired = new ArrayList<>();
    for (ReturnedLease r : expireReturned()) {
      expired.add(r.lease());
    }
    return expired;
  }

  /**
   * As {@link #expire}, with what each lease was charged (for its {@code budget_returned}
   * record): what its replica last reported as used or in flight, or the whole lease for one
   * restored on restart and not renewed since. Also forgets agent windows long past.
   */
  public synchronized List<ReturnedLease> expireReturned() {
    long now = clock.millis();
    List<Held> due = new ArrayList<>();
    for (Held held : leases.values()) {
      if (held.expiresAtMs <= now) {
        due.add(held);
      }
    }
    List<ReturnedLease> expired = new ArrayList<>(due.size());
    for (Held held : due) {
      long charge = held.chargeOnExpiry();
      close(held, charge);
      expired.add(new ReturnedLease(held.lease(), charge, ReturnedLease.EXPIRED, held.window));
    }
    // A window ended before the previous one started holds nothing a lease could still draw.
    windows.entrySet().removeIf(e -> e.getValue().leased == 0
        && e.getKey().startMs() + 2 * e.getKey().periodMs() <= now);
    return expired;
  }

  /**
   * Where {@code tokenId}'s budget stands now.
   *
   * @throws BudgetRejectedException {@code UNKNOWN_TOKEN} if it has no account
   */
  public synchronized BudgetUsage usage(String tokenId) {
    Account a = account(tokenId);
    return new BudgetUsage(a.tokenId, a.limit, a.spent, a.leased, available(a));
  }

  /** Whether {@code agentId} has a per-period budget. */
  public boolean hasAgentBudget(String agentId) {
    return agentBudgets.containsKey(agentId);
  }

  /**
   * Where {@code agentId}'s budget stands in its current window.
   *
   * @throws BudgetRejectedException {@code UNKNOWN_AGENT} if the agent has no per-period budget
   */
  public synchronized AgentUsage agentUsage(String agentId) {
    AgentBudget agent = agentBudgets.get(agentId);
    if (agent == null) {
      throw new BudgetRejectedException(Code.UNKNOWN_AGENT,
          "agent " + agentId + " has no per-period budget");
    }
    AgentWindow key = new AgentWindow(agentId, agent.windowStartMs(clock.millis()),
        agent.period().toMillis());
    Window w = windows.getOrDefault(key, new Window());
    return new AgentUsage(key, agent.tokens(), w.spent, w.leased,
        Math.max(0, agent.tokens() - w.spent - w.leased));
  }

  /** LLM tokens charged to agent windows since this ledger started, all agents (metrics). */
  public synchronized long agentChargedTokens() {
    return agentChargedTotal;
  }

  /** Lease requests refused because an agent's window was spent, since start (metrics). */
  public synchronized long agentRefusals() {
    return agentRefusals;
  }

  /**
   * Puts back the account of a token issued before a restart (from its {@code issued} record),
   * with what its own leases were charged ({@code budget_returned} records); that is charged to
   * its ancestors too. A parent's account must be restored before its children's.
   *
   * @param parentTokenId the parent's id when the parent has an account, else null
   * @throws BudgetRejectedException {@code UNKNOWN_TOKEN} for a parent without an account
   */
  public synchronized void restoreAccount(String tokenId, String agentId,
      @Nullable String parentTokenId, long limit, long charged) {
    requirePositive(limit, "budget");
    requireNew(tokenId);
    Account parent = parentTokenId == null ? null : account(parentTokenId);
    Account account = new Account(tokenId, parent, limit, agentId);
    accounts.put(tokenId, account);
    for (Account a = account; a != null; a = a.parent) {
      a.spent += charged;
    }
  }

  /** Puts back what an agent window was charged before a restart. */
  public synchronized void restoreWindow(AgentWindow window, long charged) {
    windows.computeIfAbsent(window, k -> new Window()).spent += charged;
  }

  /**
   * Puts back a lease granted before a restart and not returned since. Its replica's report is
   * unknown: it lives a fresh lease ttl from now and, unless renewed, is charged in full at
   * expiry. A lease of a token without an account (long expired) is dropped.
   */
  public synchronized void restoreLease(String leaseId, String tokenId, String replicaId,
      long amount, @Nullable AgentWindow window) {
    Account account = accounts.get(tokenId);
    if (account == null || leases.containsKey(leaseId)) {
      return;
    }
    Lease lease = new Lease(leaseId, tokenId, replicaId, amount,
        clock.millis() + leaseTtl.toMillis());
    Held held = new Held(lease, account, window);
    held.unreported = true;
    book(held);
  }

  /** Outstanding leases, for a replica's view or an operator's; in no particular order. */
  public synchronized List<Lease> outstandingLeases() {
    List<Lease> out = new ArrayList<>(leases.size());
    for (Held held : leases.values()) {
      out.add(held.lease());
    }
    return out;
  }

  /** Forgets a token's account once it can spend nothing more (expired); leases go with it. */
  public synchronized void close(String tokenId) {
    leases.values().removeIf(h -> h.account.tokenId.equals(tokenId));
    accounts.remove(tokenId);
  }

  /** LLM tokens held in outstanding leases, all tokens together (for metrics). */
  public synchronized long leasedTokens() {
    long sum = 0;
    for (Held held : leases.values()) {
      sum += held.granted.amount();
    }
    return sum;
  }

  /** LLM tokens charged to budgets since this ledger started (for metrics). */
  public synchronized long chargedTokens() {
    return chargedTotal;
  }

  @GuardedBy("this")
  private void close(Held held, long charge) {
    chargedTotal += charge;
    leases.remove(held.granted.leaseId());
    for (Account a = held.account; a != null; a = a.parent) {
      a.leased -= held.granted.amount();
      a.spent += charge;
    }
    if (held.window != null) {
      Window w = windows.computeIfAbsent(held.window, k -> new Window());
      w.leased -= held.granted.amount();
      w.spent += charge;
      agentChargedTotal += charge;
    }
  }

  @GuardedBy("this")
  private static long available(Account account) {
    long available = Long.MAX_VALUE;
    for (Account a = account; a != null; a = a.parent) {
      available = Math.min(available, a.ownAvailable());
    }
    return Math.max(0, available);
  }

  @GuardedBy("this")
  private Account account(String tokenId) {
    Account a = accounts.get(tokenId);
    if (a == null) {
      throw new BudgetRejectedException(Code.UNKNOWN_TOKEN,
          "token " + tokenId + " has no budget account");
    }
    return a;
  }

  @GuardedBy("this")
  private Held held(String leaseId) {
    Held held = leases.get(leaseId);
    if (held == null) {
      throw new BudgetRejectedException(Code.UNKNOWN_LEASE,
          "lease " + leaseId + " is not outstanding (returned, expired, or never granted)");
    }
    return held;
  }

  @GuardedBy("this")
  private void requireNew(String tokenId) {
    if (accounts.containsKey(tokenId)) {
      throw new BudgetRejectedException(Code.DUPLICATE_ACCOUNT,
          "token " + tokenId + " already has a budget account");
    }
  }

  private static void requireWithin(Held held, long used, long inFlight) {
    long amount = held.granted.amount();
    if (used < 0 || inFlight < 0 || used > amount || inFlight > amount - used) {
      throw new BudgetRejectedException(Code.INVALID_AMOUNT, "used " + used + " and in flight "
          + inFlight + " must be non-negative and together at most the lease's " + amount);
    }
  }

  private static void requirePositive(long value, String what) {
    if (value < 1) {
      throw new BudgetRejectedException(Code.INVALID_AMOUNT,
          what + " must be at least 1, got " + value);
    }
  }

  private static String newLeaseId() {
    byte[] id = new byte[12];
    RANDOM.nextBytes(id);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(id);
  }
}
