/**
 * The control plane: mints and revokes tokens ({@code TokenService}), holds the signing keys,
 * writes every token event into the audit log and streams it ({@code AuditService}), and pushes
 * public keys and revocation rules to every authz-service replica over the {@code SyncService}
 * stream.
 *
 * <p>{@link io.perishable.controlplane.ControlPlaneServer} is the door: it wires the rooms
 * ({@code issue}, {@code issuer}, {@code keys}, {@code revocation}, {@code tokens}, {@code
 * audit}, {@code journal}, {@code watch}, {@code sync}, {@code metrics}) into one gRPC server.
 */
package io.perishable.controlplane;
