/**
 * The control plane: mints tokens ({@code TokenService}), holds the signing keys, and pushes
 * public keys to every authz-service replica over the {@code SyncService} stream.
 *
 * <p>{@link io.perishable.controlplane.ControlPlaneServer} is the door: it wires the rooms
 * ({@code issue}, {@code issuer}, {@code keys}, {@code sync}) into one gRPC server.
 */
package io.perishable.controlplane;
