/**
 * Revocation on the control plane: {@link io.perishable.controlplane.revocation.Revoker} turns
 * a {@code RevokeRequest} into a {@code RevocationRule}, counts the indexed tokens it covers,
 * keeps it in {@link io.perishable.controlplane.revocation.RevocationRules} until no token it
 * could match is alive, and hands it to the Sync hub, which pushes it to every replica and
 * waits for their acks.
 *
 * <p>Rules live in memory only (until the audit log lands): a control-plane restart forgets
 * them, and replicas that reconnect afterwards receive a snapshot without them.
 */
package io.perishable.controlplane.revocation;
