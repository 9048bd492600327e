package io.perishable.controlplane.budget;

/**
 * Where an agent's budget stands in its current period window. Every figure is in LLM tokens.
 *
 * @param window the agent and the current window
 * @param limit what the agent may spend per window
 * @param spent charged to this window: usage of the leases granted in it, settled or expired
 * @param leased held by replicas in outstanding leases granted in this window
 * @param available {@code limit - spent - leased}, never below zero
 */
public record AgentUsage(AgentWindow window, long limit, long spent, long leased,
    long available) {}
