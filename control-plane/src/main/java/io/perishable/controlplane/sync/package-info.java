/**
 * The Sync stream's server side: every connected authz-service replica gets a snapshot of the
 * public keys (and, with revocation, the live rules), then sequenced deltas and heartbeats,
 * and acks what it applied.
 */
package io.perishable.controlplane.sync;
