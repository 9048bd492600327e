package io.perishable.controlplane.budget;

import javax.annotation.Nullable;

/**
 * The ledger's answer to a lease request.
 *
 * @param lease the lease granted, or null when refused
 * @param refusal why not, {@link Refusal#NONE} when granted
 * @param window the agent window the lease is charged to; null when the token's agent has no
 *     per-period budget
 */
public record LeaseDecision(@Nullable Lease lease, Refusal refusal,
    @Nullable AgentWindow window) {

  /** Why a lease request got nothing. */
  public enum Refusal {
    /** Granted. */
    NONE,
    /** The token's budget (or an ancestor's) is spent or entirely leased to other replicas. */
    BUDGET_EXHAUSTED,
    /** The token's agent has spent (or leased) its whole budget for the current window. */
    AGENT_BUDGET_EXHAUSTED
  }
}
