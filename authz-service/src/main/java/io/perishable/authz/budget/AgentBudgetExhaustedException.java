package io.perishable.authz.budget;

/**
 * How a {@link LeaseSource} says that a lease was refused because the token's agent has spent
 * its budget for the current period (not the token's own budget): 429 {@code
 * agent_budget_exhausted}.
 */
public final class AgentBudgetExhaustedException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public AgentBudgetExhaustedException(String tokenId) {
    super("the agent of token " + tokenId + " has spent its budget for the current period");
  }
}
