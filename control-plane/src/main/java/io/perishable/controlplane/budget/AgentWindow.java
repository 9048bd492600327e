package io.perishable.controlplane.budget;

/**
 * One period window of an agent's budget: the lease granted in it is charged to it, whenever
 * it is returned.
 *
 * @param agentId the agent
 * @param startMs the window's start, ms since the epoch (a multiple of {@code periodMs})
 * @param periodMs its length
 */
public record AgentWindow(String agentId, long startMs, long periodMs) {}
