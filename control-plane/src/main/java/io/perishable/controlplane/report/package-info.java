/**
 * Decision reports from authz replicas into the audit log: {@link
 * io.perishable.controlplane.report.ReportEndpoint} serves {@code ReportService.Report},
 * appending each reported decision as a {@code used} or {@code denied} audit record and acking
 * a batch once its records are fsynced; a {@link io.perishable.controlplane.report.ReportLedger}
 * de-duplicates the replicas' at-least-once resends, so every decision lands in the chain
 * exactly once, across replica and control-plane restarts.
 */
package io.perishable.controlplane.report;
