package io.perishable.controlplane.budget;

import javax.annotation.Nullable;

/**
 * A lease taken off the books, with what was charged for it: the payload of a {@code
 * budget_returned} audit record.
 *
 * @param lease the lease
 * @param charged LLM tokens charged to the token, its ancestors and the agent window
 * @param how {@link #SETTLED} (the replica returned it) or {@link #EXPIRED} (not renewed)
 * @param window the agent window it was charged to, or null
 */
public record ReturnedLease(Lease lease, long charged, String how,
    @Nullable AgentWindow window) {
  public static final String SETTLED = "settled";
  public static final String EXPIRED = "expired";
}
