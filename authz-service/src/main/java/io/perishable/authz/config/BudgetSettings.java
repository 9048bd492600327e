package io.perishable.authz.config;

import java.time.Duration;
import java.util.OptionalLong;

/**
 * The {@code authz.budget} section: how a replica admits requests of tokens with a budget and
 * how it leases that budget from the control plane (docs/budgets.md).
 *
 * @param defaultMaxTokens what a request to a generating endpoint (chat, completions, messages)
 *     that names no {@code max_tokens} / {@code max_completion_tokens} is assumed to generate at
 *     most, per choice; empty refuses such requests ({@code 403 max_tokens_required}). The
 *     provider does not see this figure: a response may use more, and is charged all it uses
 * @param leaseChunk LLM tokens leased from the control plane at a time per budgeted token (more
 *     when one request needs more)
 * @param renewInterval how often every lease is renewed with this replica's usage on it, and
 *     idle leases are returned; also how long before its ttl a lease stops being spent. Must be
 *     well under the control plane's {@code control_plane.budget.lease_ttl} (a third of it): a
 *     replica logs a warning when it is granted a ttl shorter than twice this
 */
public record BudgetSettings(OptionalLong defaultMaxTokens, long leaseChunk,
    Duration renewInterval) {
  public static final long DEFAULT_LEASE_CHUNK = 8192;
  public static final Duration DEFAULT_RENEW_INTERVAL = Duration.ofSeconds(10);
  /** Envoy's route timeout is 600s: renewing more rarely than this makes no sense. */
  public static final Duration MAX_RENEW_INTERVAL = Duration.ofMinutes(5);
  /** Refuse requests without a max-token field; 8192-token chunks; renew every 10s. */
  public static final BudgetSettings DEFAULTS =
      new BudgetSettings(OptionalLong.empty(), DEFAULT_LEASE_CHUNK, DEFAULT_RENEW_INTERVAL);

  public BudgetSettings {
    defaultMaxTokens = defaultMaxTokens == null ? OptionalLong.empty() : defaultMaxTokens;
  }

  /** Throws IllegalArgumentException naming the first field that is wrong. */
  public BudgetSettings validate() {
    if (defaultMaxTokens.isPresent() && defaultMaxTokens.getAsLong() < 1) {
      throw new IllegalArgumentException("authz.budget.default_max_tokens: must be at least 1 "
          + "(leave it out to refuse requests without max_tokens), got "
          + defaultMaxTokens.getAsLong());
    }
    if (leaseChunk < 1) {
      throw new IllegalArgumentException(
          "authz.budget.lease_chunk: must be at least 1, got " + leaseChunk);
    }
    if (renewInterval == null || renewInterval.toMillis() < 100
        || renewInterval.compareTo(MAX_RENEW_INTERVAL) > 0) {
      throw new IllegalArgumentException(
          "authz.budget.renew_interval: must lie between 100ms and 5m");
    }
    return this;
  }
}
