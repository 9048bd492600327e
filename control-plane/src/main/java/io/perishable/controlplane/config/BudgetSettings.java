package io.perishable.controlplane.config;

import java.time.Duration;

/**
 * The {@code control_plane.budget} section: how the control plane leases token budgets to
 * authz-service replicas (docs/budgets.md).
 *
 * @param leaseTtl how long a replica's lease lives without a renewal; when it lapses the lease
 *     is taken back, charging what the replica last reported. Replicas must renew well within it
 *     ({@code authz.budget.renew_interval}, a third of it or less); they are told it with every
 *     lease and log a warning when it is under twice their renew interval
 */
public record BudgetSettings(Duration leaseTtl) {
  public static final Duration DEFAULT_LEASE_TTL = Duration.ofSeconds(30);
  /** Leases expire on a 1s sweep and are renewed at 100ms at the fastest. */
  public static final Duration MIN_LEASE_TTL = Duration.ofSeconds(1);
  public static final Duration MAX_LEASE_TTL = Duration.ofHours(1);
  public static final BudgetSettings DEFAULTS = new BudgetSettings(DEFAULT_LEASE_TTL);

  void validate() {
    if (leaseTtl == null || leaseTtl.compareTo(MIN_LEASE_TTL) < 0
        || leaseTtl.compareTo(MAX_LEASE_TTL) > 0) {
      throw new IllegalArgumentException(
          "control_plane.budget.lease_ttl: must lie between 1s and 1h");
    }
  }
}
