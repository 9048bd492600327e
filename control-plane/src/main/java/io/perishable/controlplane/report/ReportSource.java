package io.perishable.controlplane.report;

/**
 * Where reported decisions come from: one spool of one authz replica. Seqs count from 1 within
 * a source, so (source, seq) names a decision.
 *
 * @param replicaId the replica's name ({@code ReportBatch.replica_id})
 * @param spoolId its spool's random id ({@code ReportBatch.spool_id}); a replica whose spool
 *     was wiped reports under a new one
 */
public record ReportSource(String replicaId, String spoolId) {}
