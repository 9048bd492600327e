/**
 * The audit trail: every issued, used, denied, revoked and expired token event, and every
 * upstream response, in one append-only, hash-chained, durable, verifiable log.
 *
 * <p>The door is {@link io.perishable.controlplane.audit.AuditLog}: {@code append} a {@link
 * io.perishable.controlplane.audit.AuditRecord.Builder} and wait for the future, which completes
 * once the record is fsynced. {@link io.perishable.controlplane.audit.FileAuditLog} is the
 * embedded implementation (segment files, group commit, signed checkpoints with {@link
 * io.perishable.controlplane.audit.CheckpointKeys}); a PostgreSQL-backed one can take its place.
 * {@link io.perishable.controlplane.audit.AuditExporter} writes JSONL, and {@link
 * io.perishable.controlplane.audit.AuditVerifier} checks a log or an export offline. The
 * byte-exact format, with a short Python verifier, is in {@code docs/audit-log.md}.
 *
 * <p>Records hold token ids and prompt hashes, never tokens, keys or prompts.
 */
package io.perishable.controlplane.audit;
