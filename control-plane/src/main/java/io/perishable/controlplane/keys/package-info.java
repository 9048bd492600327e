/**
 * Token-signing keys: generated on first start, kept in the data directory with owner-only
 * permissions. Only public halves ever leave this package.
 */
package io.perishable.controlplane.keys;
