package io.perishable.authz.report;

/**
 * What a replica does when its decision spool is full, i.e. when the control plane has been
 * unreachable (or slow) for so long that unacknowledged decisions fill {@link
 * ReportConfig#spoolCapacityBytes()}. Configured as {@code authz.report.when_spool_full}.
 */
public enum SpoolFullPolicy {
  /**
   * The default, as Vault does when no audit device can record: once the spool is nearly full
   * ({@link ReportConfig#reserveBytes()} left), {@link DecisionReporter#acceptingDecisions()}
   * turns false and the engine refuses new requests with {@code audit_unavailable} (503), so
   * nothing is served that could not be recorded. The reserve holds the decisions already in
   * flight and those refusals; only refusals beyond it go unrecorded (and are counted).
   */
  FAIL_CLOSED,
  /**
   * Keep serving: decisions that do not fit are not recorded, and each one is counted in
   * {@link DecisionReporter#unrecordedDecisions()} so an alert can fire. Availability over a
   * complete trail; choose it knowingly.
   */
  KEEP_SERVING
}
