package io.perishable.controlplane.budget;

/**
 * Where one token's budget stands. Every figure is in LLM tokens.
 *
 * @param tokenId the token whose account this is
 * @param limit the budget it was given (the whole of its life)
 * @param spent charged for good: usage replicas reported, plus what a lost lease had in flight
 * @param leased held by replicas as outstanding leases (this account's and its descendants')
 * @param available {@code limit - spent - leased}, never below zero; a child's is further
 *     bounded by what its ancestors have available
 */
public record BudgetUsage(String tokenId, long limit, long spent, long leased, long available) {}
