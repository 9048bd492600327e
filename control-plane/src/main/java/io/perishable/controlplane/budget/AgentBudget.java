package io.perishable.controlplane.budget;

import java.time.Duration;

/**
 * A per-agent budget per period: every budgeted token of {@code agentId} (and every token
 * delegated from one) also draws from the agent's account for the current period window, at
 * most {@code tokens} per window. Windows are fixed, {@code period} long and aligned to the Unix
 * epoch (UTC), so a restarted control plane and every replica agree on them.
 *
 * @param agentId the agent, as in the tokens' {@code agent_id}
 * @param tokens LLM tokens the agent may spend per window; at least 1
 * @param period the window's length; at least {@link #MIN_PERIOD}
 */
public record AgentBudget(String agentId, long tokens, Duration period) {
  /** Shorter windows than this would turn with every lease. */
  public static final Duration MIN_PERIOD = Duration.ofMinutes(1);

  /** Throws IllegalArgumentException naming {@code field} and the problem. */
  public AgentBudget validate(String field) {
    if (agentId == null || agentId.isBlank()) {
      throw new IllegalArgumentException(field + ".agent: must not be empty");
    }
    if (tokens < 1) {
      throw new IllegalArgumentException(field + ".tokens: must be at least 1, got " + tokens);
    }
    if (period == null || period.compareTo(MIN_PERIOD) < 0) {
      throw new IllegalArgumentException(field + ".period: must be at least 1m");
    }
    if (period.toMillis() % 1000 != 0) {
      throw new IllegalArgumentException(field + ".period: must be whole seconds");
    }
    return this;
  }

  /** The start of the window that holds {@code nowMs}, ms since the epoch. */
  public long windowStartMs(long nowMs) {
    return Math.floorDiv(nowMs, period.toMillis()) * period.toMillis();
  }
}
