package io.perishable.authz.budget;

/** The answer to a reservation: admitted, or why not. */
public sealed interface Admission {
  /** The worst case is reserved; settle it with the request id when the response completes. */
  record Admitted(long reserved) implements Admission {}

  /**
   * The token's budget cannot cover the worst case: 429 {@code budget_exhausted}.
   *
   * @param available what this replica could still reserve for the token
   */
  record Exhausted(long worstCase, long available) implements Admission {}

  /**
   * The token's agent has spent its budget for the current period, and what this replica still
   * holds for the token cannot cover the worst case: 429 {@code agent_budget_exhausted}.
   */
  record AgentExhausted(long worstCase, long available) implements Admission {}

  /** No lease could be obtained (the control plane was unreachable): fail closed with 503. */
  record Unavailable(String why) implements Admission {}
}
