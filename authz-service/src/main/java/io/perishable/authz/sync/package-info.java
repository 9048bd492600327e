/**
 * The Sync stream's client side: receives public keys (and later revocations) from the control
 * plane, applies them, acks, and keeps track of how fresh that state is.
 */
package io.perishable.authz.sync;
