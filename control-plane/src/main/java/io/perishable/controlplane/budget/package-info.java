/**
 * Token budgets across replicas: how many LLM tokens a token (and its subtree) may still spend,
 * and which authz replica holds which part of it as a lease.
 *
 * <p>The door is {@link io.perishable.controlplane.budget.BudgetLedger}: pure (no gRPC, time
 * from an injected {@link java.time.Clock}), thread-safe. Its invariant, for every account at
 * every moment: {@code spent + outstanding leases <= limit}. A replica admits requests only
 * against a lease it holds, so replicas together never admit more than the budget.
 */
package io.perishable.controlplane.budget;
