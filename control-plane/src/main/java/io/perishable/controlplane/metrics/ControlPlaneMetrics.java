package io.perishable.controlplane.metrics;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.Unit;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.Collection;
import java.util.function.LongSupplier;

/** Everything the control plane counts, on its own registry (one per server). */
public final class ControlPlaneMetrics {
  private final PrometheusRegistry registry = new PrometheusRegistry();
  private final Counter issued;
  private final Counter issueRejected;
  private final Counter issuerRejected;
  private final Counter revocations;
  private final Histogram propagation;
  private final Histogram auditAppend;
  private final Histogram auditFsync;
  private final Counter snapshots;
  private final Counter snapshotsRejected;
  private final Gauge rebuildRecords;
  private final Gauge rebuildSnapshotSeq;

  public ControlPlaneMetrics() {
    issued = Counter.builder()
        .name("perishable_tokens_issued_total")
        .help("Tokens issued, counted once per granted scope")
        .labelNames("scope")
        .register(registry);
    issueRejected = Counter.builder()
        .name("perishable_issue_rejected_total")
        .help("Issue requests refused, by gRPC status code")
        .labelNames("code")
        .register(registry);
    issuerRejected = Counter.builder()
        .name("perishable_issuer_rejected_total")
        .help("Calls refused for the caller's credentials or its issuer grant, by reason "
            + "(missing_credentials, unknown_secret, identity_token_invalid, "
            + "identity_tokens_not_accepted, workload_method_not_allowed, no_issuer_grant, "
            + "issuer_grant_exceeded)")
        .labelNames("reason")
        .register(registry);
    revocations = Counter.builder()
        .name("perishable_revocations_total")
        .help("Revocations, by selector kind (token_id, agent_id, scope, issued_within)")
        .labelNames("selector")
        .register(registry);
    propagation = Histogram.builder()
        .name("perishable_revocation_propagation_seconds")
        .help("Time from a Revoke call to the last connected replica's ack")
        .unit(Unit.SECONDS)
        .classicOnly()
        .classicUpperBounds(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5)
        .register(registry);
    auditAppend = Histogram.builder()
        .name("perishable_audit_append_duration_seconds")
        .help("Time from an audit append to its record being durable (group commit)")
        .unit(Unit.SECONDS)
        .classicOnly()
        .classicUpperBounds(0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5)
        .register(registry);
    auditFsync = Histogram.builder()
        .name("perishable_audit_fsync_duration_seconds")
        .help("Duration of one fsync of the audit log (one per group-commit batch)")
        .unit(Unit.SECONDS)
        .classicOnly()
        .classicUpperBounds(0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5)
        .register(registry);
    snapshots = Counter.builder()
        .name("perishable_state_snapshots_total")
        .help("State snapshots written at audit checkpoints, by result (written, failed)")
        .labelNames("result")
        .register(registry);
    snapshotsRejected = Counter.builder()
        .name("perishable_state_snapshots_rejected_total")
        .help("State snapshots found unusable on start (bad signature, damaged, not in the"
            + " log); the rebuild fell back to an older one or to a replay from seq 1")
        .register(registry);
    rebuildRecords = Gauge.builder()
        .name("perishable_state_rebuild_records")
        .help("Audit records replayed on start after the state snapshot (all without one)")
        .register(registry);
    rebuildSnapshotSeq = Gauge.builder()
        .name("perishable_state_rebuild_snapshot_seq")
        .help("Seq of the state snapshot the start rebuilt from; 0 = replayed from seq 1")
        .register(registry);
    JvmMetrics.builder().register(registry);
  }

  /** Gauges read at scrape time. */
  public ControlPlaneMetrics gauges(LongSupplier liveTokens, LongSupplier connectedReplicas) {
    GaugeWithCallback.builder()
        .name("perishable_live_tokens")
        .help("Tokens issued and neither expired nor revoked")
        .callback(cb -> cb.call(liveTokens.getAsLong()))
        .register(registry);
    GaugeWithCallback.builder()
        .name("perishable_sync_replicas")
        .help("authz-service replicas connected on the Sync stream")
        .callback(cb -> cb.call(connectedReplicas.getAsLong()))
        .register(registry);
    return this;
  }

  /** Budgets, all tokens together (no per-token label), read at scrape time. */
  public ControlPlaneMetrics budgets(LongSupplier leasedTokens, LongSupplier chargedTokens) {
    GaugeWithCallback.builder()
        .name("perishable_budget_leased_tokens")
        .help("LLM tokens of budgets held by authz replicas in outstanding leases")
        .callback(cb -> cb.call(leasedTokens.getAsLong()))
        .register(registry);
    CounterWithCallback.builder()
        .name("perishable_budget_charged_tokens_total")
        .help("LLM tokens charged to budgets: usage replicas settled, and what expired leases "
            + "had reported")
        .callback(cb -> cb.call(chargedTokens.getAsLong()))
        .register(registry);
    return this;
  }

  /**
   * Per-agent budgets, all agents together (no per-agent label; per-agent figures are in {@code
   * perishable usage --agent}), read at scrape time.
   */
  public ControlPlaneMetrics agentBudgets(LongSupplier refusals, LongSupplier chargedTokens) {
    CounterWithCallback.builder()
        .name("perishable_budget_agent_exhausted_total")
        .help("Lease requests refused because the token's agent had spent its budget for the "
            + "current period")
        .callback(cb -> cb.call(refusals.getAsLong()))
        .register(registry);
    CounterWithCallback.builder()
        .name("perishable_budget_agent_charged_tokens_total")
        .help("LLM tokens charged to per-agent period budgets")
        .callback(cb -> cb.call(chargedTokens.getAsLong()))
        .register(registry);
    return this;
  }

  public void issued(Collection<String> scopes) {
    for (String scope : scopes) {
      issued.labelValues(scope).inc();
    }
  }

  public void issueRejected(String grpcCode) {
    issueRejected.labelValues(grpcCode).inc();
  }

  /** Counts a refusal for the caller's credentials or grant; {@code reason} is a fixed code. */
  public void issuerRejected(String reason) {
    issuerRejected.labelValues(reason).inc();
  }

  public void revoked(String selectorKind, Duration propagationTime) {
    revocations.labelValues(selectorKind).inc();
    if (propagationTime != null) {
      propagation.observe(propagationTime.toNanos() / 1e9);
    }
  }

  public void auditAppended(long nanos) {
    auditAppend.observe(nanos / 1e9);
  }

  public void auditFsynced(long nanos) {
    auditFsync.observe(nanos / 1e9);
  }

  /** How the start rebuilt its state: from which snapshot, how many records after it. */
  public void rebuilt(long snapshotSeq, long records, int snapshotsRejected) {
    rebuildSnapshotSeq.set(snapshotSeq);
    rebuildRecords.set(records);
    this.snapshotsRejected.inc(snapshotsRejected);
  }

  public void snapshotWritten() {
    snapshots.labelValues("written").inc();
  }

  public void snapshotFailed() {
    snapshots.labelValues("failed").inc();
  }

  public PrometheusRegistry registry() {
    return registry;
  }

  /** Serves {@code /metrics} on {@code host:port} (0 = ephemeral). */
  public HTTPServer serve(String host, int port) {
    try {
      return HTTPServer.builder().hostname(host).port(port).registry(registry).buildAndStart();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot serve metrics on " + host + ":" + port, e);
    }
  }
}
