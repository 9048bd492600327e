package io.perishable.controlplane.config;

import io.perishable.controlplane.budget.AgentBudget;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The {@code control_plane.budget} section: how the control plane leases token budgets to
 * authz-service replicas, and per-agent budgets per period (docs/budgets.md).
 *
 * @param leaseTtl how long a replica's lease lives without a renewal; when it lapses the lease
 *     is taken back, charging what the replica last reported. Replicas must renew well within it
 *     ({@code authz.budget.renew_interval}, a third of it or less); they are told it with every
 *     lease and log a warning when it is under twice their renew interval
 * @param agents per-agent budgets per period ({@code control_plane.budget.agents}), at most one
 *     per agent
 */
public record BudgetSettings(Duration leaseTtl, List<AgentBudget> agents) {
  public static final Duration DEFAULT_LEASE_TTL = Duration.ofSeconds(30);
  /** Leases expire on a 1s sweep and are renewed at 100ms at the fastest. */
  public static final Duration MIN_LEASE_TTL = Duration.ofSeconds(1);
  public static final Duration MAX_LEASE_TTL = Duration.ofHours(1);
  public static final BudgetSettings DEFAULTS = new BudgetSettings(DEFAULT_LEASE_TTL);

  public BudgetSettings {
    agents = agents == null ? List.of() : List.copyOf(agents);
  }

  /** Without per-agent budgets. */
  public BudgetSettings(Duration leaseTtl) {
    this(leaseTtl, List.of());
  }

  /** With {@code newAgents} as the per-agent budgets. */
  public BudgetSettings withAgents(List<AgentBudget> newAgents) {
    return new BudgetSettings(leaseTtl, newAgents);
  }

  void validate() {
    if (leaseTtl == null || leaseTtl.compareTo(MIN_LEASE_TTL) < 0
        || leaseTtl.compareTo(MAX_LEASE_TTL) > 0) {
      throw new IllegalArgumentException(
          "control_plane.budget.lease_ttl: must lie between 1s and 1h");
    }
    Set<String> budgetedAgents = new HashSet<>();
    for (int i = 0; i < agents.size(); i++) {
      String field = "control_plane.budget.agents[" + i + "]";
      AgentBudget b = agents.get(i).validate(field);
      if (!budgetedAgents.add(b.agentId())) {
        throw new IllegalArgumentException(
            field + ".agent: agent '" + b.agentId() + "' already has a budget");
      }
    }
  }
}
