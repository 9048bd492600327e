package io.perishable.authz.metrics;

import io.perishable.authz.DenialReason;
import io.perishable.authz.decision.AuthzRequest;
import io.perishable.authz.decision.Decision;
import io.perishable.authz.decision.DecisionListener;
import io.perishable.authz.sync.SyncStatus;
import io.perishable.authz.token.TokenVerifier;
import io.perishable.authz.upstream.UpstreamCredentials;
import io.perishable.authz.report.DecisionReporter;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.Unit;

/**
 * Counts every decision (a {@link DecisionListener}) and exposes gauges read at scrape time.
 * Label values come from closed sets: {@code result} is allow or deny, {@code reason} a {@link
 * DenialReason} code or {@code none}, {@code scope} a catalog name.
 */
public final class AuthzMetrics implements DecisionListener {
  private final PrometheusRegistry registry;
  private final Counter decisions;
  private final Histogram checkDuration;
  private final Counter bodyBytes;
  private final Counter keyReloads;

  /** Registers everything on a fresh registry (one per server, so tests can run several). */
  public AuthzMetrics(TokenVerifier verifier, SyncStatus sync) {
    this.registry = new PrometheusRegistry();
    this.decisions = Counter.builder()
        .name("perishable_authz_decisions_total")
        .help("Check decisions by result (allow, deny) and denial reason")
        .labelNames("result", "reason")
        .register(registry);
    this.checkDuration = Histogram.builder()
        .name("perishable_authz_check_duration_seconds")
        .help("Time authz-service spent deciding one Check, from request to response")
        .unit(Unit.SECONDS)
        .classicOnly()
        .classicUpperBounds(0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
            0.025, 0.1)
        .register(registry);
    this.bodyBytes = Counter.builder()
        .name("perishable_authz_body_inspected_bytes_total")
        .help("Request body bytes read by the JSON body inspector")
        .unit(Unit.BYTES)
        .register(registry);
    GaugeWithCallback.builder()
        .name("perishable_authz_verified_tokens")
        .help("Tokens currently cached as verified (signature checked once per token)")
        .callback(cb -> cb.call(verifier.cachedTokens()))
        .register(registry);
    GaugeWithCallback.builder()
        .name("perishable_authz_signature_checks")
        .help("Ed25519 verifications performed since start (cache misses)")
        .callback(cb -> cb.call(verifier.signatureChecks()))
        .register(registry);
    GaugeWithCallback.builder()
        .name("perishable_authz_sync_staleness_seconds")
        .help("Seconds since the control plane was last heard from on the Sync stream")
        .unit(Unit.SECONDS)
        .callback(cb -> cb.call(sync.silence().toNanos() / 1e9))
        .register(registry);
    GaugeWithCallback.builder()
        .name("perishable_authz_synced")
        .help("1 once a key snapshot from the control plane has been applied, else 0")
        .callback(cb -> cb.call(sync.hasSnapshot() ? 1 : 0))
        .register(registry);
    keyReloads = Counter.builder()
        .name("perishable_authz_upstream_key_reloads_total")
        .help("Provider key reloads by upstream and result (changed, failed)")
        .labelNames("upstream", "result")
        .register(registry);
    JvmMetrics.builder().register(registry);
  }

  /** Counts a reload that changed or failed keys (never the keys themselves). */
  public void keysReloaded(UpstreamCredentials.Reload reload) {
    reload.changed().forEach(u -> keyReloads.labelValues(u, "changed").inc());
    reload.failed().forEach(u -> keyReloads.labelValues(u, "failed").inc());
  }

  /** The decision-report spool, read at scrape time. */
  public AuthzMetrics reports(DecisionReporter reporter) {
    GaugeWithCallback.builder()
        .name("perishable_authz_report_spool_decisions")
        .help("Decisions spooled on this replica and not yet durable in the audit log")
        .callback(cb -> cb.call(reporter.pendingDecisions()))
        .register(registry);
    GaugeWithCallback.builder()
        .name("perishable_authz_report_spool_bytes")
        .help("Bytes the decision spool holds on disk")
        .unit(Unit.BYTES)
        .callback(cb -> cb.call(reporter.spoolBytes()))
        .register(registry);
    CounterWithCallback.builder()
        .name("perishable_authz_report_unrecorded_total")
        .help("Decisions that could not be recorded (spool full under keep_serving)")
        .callback(cb -> cb.call(reporter.unrecordedDecisions()))
        .register(registry);
    CounterWithCallback.builder()
        .name("perishable_authz_report_reconnects_total")
        .help("Times the report stream to the control plane was re-established")
        .callback(cb -> cb.call(reporter.reconnects()))
        .register(registry);
    return this;
  }

  /** Live revocation rules on this replica, read at scrape time. */
  public AuthzMetrics revocationRules(java.util.function.LongSupplier rules) {
    GaugeWithCallback.builder()
        .name("perishable_authz_revocation_rules")
        .help("Revocation rules this replica enforces")
        .callback(cb -> cb.call(rules.getAsLong()))
        .register(registry);
    return this;
  }

  public PrometheusRegistry registry() {
    return registry;
  }

  @Override
  public void decided(AuthzRequest request, Decision decision, long elapsedNanos) {
    if (decision instanceof Decision.Deny deny) {
      decisions.labelValues("deny", deny.reason().code()).inc();
    } else {
      decisions.labelValues("allow", "none").inc();
    }
    checkDuration.observe(elapsedNanos / 1e9);
    if (request != null && request.body().length > 0) {
      bodyBytes.inc(request.body().length);
    }
  }
}
