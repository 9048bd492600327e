package io.perishable.authz.budget;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletionStage;

/**
 * Where a replica gets budget: the control plane's lease ledger. Called once per chunk, never
 * once per request.
 */
public interface LeaseSource {
  /**
   * Asks for a lease of up to {@code amount} LLM tokens of {@code tokenId}'s budget.
   *
   * @return the lease granted (possibly smaller than asked), empty when the budget is
   *     exhausted; completes exceptionally with {@link AgentBudgetExhaustedException} when the
   *     token's agent has spent its budget for the current period, and with anything else when
   *     the control plane cannot be asked
   */
  CompletionStage<Optional<Grant>> acquire(String tokenId, long amount);

  /**
   * A lease as granted.
   *
   * @param leaseId names the lease to the control plane when renewing or returning it
   * @param amount LLM tokens; at least 1
   * @param ttl how long the control plane keeps the lease without a renew
   */
  record Grant(String leaseId, long amount, Duration ttl) {
    public Grant {
      if (amount < 1) {
        throw new IllegalArgumentException("a lease grants at least 1 token, got " + amount);
      }
    }
  }
}
