/**
 * Decision reports: every ext_authz decision travels from this replica to the control plane's
 * audit log, durably and off the request's critical path.
 *
 * <p>The door is {@link io.perishable.authz.report.DecisionReporter}, a {@link
 * io.perishable.authz.decision.DecisionListener}: it writes each decision to an on-disk spool
 * (append-only segment files, fsynced in the background) and streams the spool to {@code
 * ReportService.Report}, deleting what the control plane acks as durable. It survives control
 * plane outages and replica restarts (resending from the oldest unacked decision; the control
 * plane de-duplicates) and, when the spool fills, either fails closed ({@link
 * io.perishable.authz.report.DecisionReporter#acceptingDecisions()}) or keeps serving and counts
 * what it could not record ({@link io.perishable.authz.report.SpoolFullPolicy}). Settings are
 * {@link io.perishable.authz.report.ReportConfig}.
 *
 * <p>Reports carry ids and a SHA-256 of the body: never a token, a provider key or a prompt.
 */
package io.perishable.authz.report;
