/**
 * The control plane's side of the audit log: what it writes there for each token event
 * ({@link io.perishable.controlplane.journal.AuditTrail}: issued, revoked, expired, key
 * rotated), how it reads its state back on start
 * ({@link io.perishable.controlplane.journal.StateReplay}: token index, live revocation
 * rules, report ledger, from the newest signed
 * {@link io.perishable.controlplane.journal.StateSnapshots state snapshot} that
 * {@link io.perishable.controlplane.journal.StateSnapshotter} keeps current), and the scheduler
 * that records expiries
 * ({@link io.perishable.controlplane.journal.ExpiryWatcher}).
 *
 * <p>The records carry every claim of a token except its signature, so the index can be rebuilt
 * exactly; they never carry the {@code prs_…} token itself, a key or a secret.
 */
package io.perishable.controlplane.journal;
