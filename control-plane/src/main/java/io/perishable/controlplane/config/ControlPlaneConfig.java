package io.perishable.controlplane.config;

import io.perishable.controlplane.budget.AgentBudget;
import io.perishable.controlplane.issuer.IssuerGrants;
import io.perishable.controlplane.issuer.WorkloadIdentity;
import io.perishable.tls.TlsFiles;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Everything the control plane is configured with. Built by the command line from the YAML
 * file and flags; {@link #validate()} names the field and the problem.
 *
 * @param host address to listen on (loopback by default)
 * @param port gRPC port (0 = ephemeral, for tests)
 * @param dataDir where signing keys and the audit log ({@code audit/}) live
 * @param defaultTtl lifetime of a token whose Issue request names none
 * @param maxTtl longest lifetime any token may have
 * @param scopes scope names the catalog defines, each with an optional tighter max ttl
 * @param upstreams upstream names tokens may be routed to
 * @param defaultUpstream upstream of a token whose Issue request names none
 * @param issuers who may call Issue
 * @param heartbeatInterval how often Sync streams carry a heartbeat
 * @param maxDelegationDepth how many ancestors a delegated token may have: 0 disables
 *     delegation, 1 lets root tokens mint children but children mint nothing, and so on
 * @param metricsPort where {@code /metrics} is served, on {@code host} (0 = ephemeral, -1 = off)
 * @param shutdownGrace how long a shutdown lets in-flight calls finish before cutting them off
 * @param audit the audit log's checkpoints and damage handling
 * @param tls mutual TLS on the gRPC port: only clients with a certificate from its CA connect
 * @param workloadIdentity a platform whose signed JWTs (e.g. Kubernetes service-account
 *     tokens) authenticate Issue callers besides the static issuer secrets
 * @param issuerGrants per-principal ceilings on what Issue may grant, first match wins; a
 *     workload principal that matches none may not issue
 * @param budget the {@code control_plane.budget} section: how budgets are leased to replicas,
 *     and per-agent budgets per period
 */
public record ControlPlaneConfig(
    String host,
    int port,
    Path dataDir,
    Duration defaultTtl,
    Duration maxTtl,
    Map<String, Optional<Duration>> scopes,
    Set<String> upstreams,
    String defaultUpstream,
    List<IssuerCredential> issuers,
    Duration heartbeatInterval,
    int maxDelegationDepth,
    int metricsPort,
    Duration shutdownGrace,
    AuditSettings audit,
    Optional<TlsFiles> tls,
    Optional<WorkloadIdentity> workloadIdentity,
    List<IssuerGrants> issuerGrants,
    BudgetSettings budget) {

  public static final String DEFAULT_HOST = "127.0.0.1";
  public static final int DEFAULT_PORT = 7400;
  public static final Duration DEFAULT_DEFAULT_TTL = Duration.ofMinutes(15);
  public static final Duration DEFAULT_MAX_TTL = Duration.ofHours(1);
  public static final Duration DEFAULT_HEARTBEAT_INTERVAL = Duration.ofSeconds(2);
  /** Tokens live "seconds to an hour": nothing shorter than this is useful to anyone. */
  public static final Duration MIN_TTL = Duration.ofSeconds(1);
  public static final int DEFAULT_MAX_DELEGATION_DEPTH = 4;
  /** Every ancestor id rides in every token: keep tokens (and headers) small. */
  public static final int MAX_MAX_DELEGATION_DEPTH = 16;
  public static final int DEFAULT_METRICS_PORT = 7410;
  public static final Duration DEFAULT_SHUTDOWN_GRACE = Duration.ofSeconds(10);

  public ControlPlaneConfig {
    scopes = Map.copyOf(scopes);
    upstreams = Set.copyOf(upstreams);
    issuers = List.copyOf(issuers);
    tls = tls == null ? Optional.empty() : tls;
    workloadIdentity = workloadIdentity == null ? Optional.empty() : workloadIdentity;
    issuerGrants = issuerGrants == null ? List.of() : List.copyOf(issuerGrants);
    budget = budget == null ? BudgetSettings.DEFAULTS : budget;
  }

  /** With the default budget settings. */
  public ControlPlaneConfig(String host, int port, Path dataDir, Duration defaultTtl,
      Duration maxTtl, Map<String, Optional<Duration>> scopes, Set<String> upstreams,
      String defaultUpstream, List<IssuerCredential> issuers, Duration heartbeatInterval,
      int maxDelegationDepth, int metricsPort, Duration shutdownGrace, AuditSettings audit,
      Optional<TlsFiles> tls, Optional<WorkloadIdentity> workloadIdentity,
      List<IssuerGrants> issuerGrants) {
    this(host, port, dataDir, defaultTtl, maxTtl, scopes, upstreams, defaultUpstream, issuers,
        heartbeatInterval, maxDelegationDepth, metricsPort, shutdownGrace, audit, tls,
        workloadIdentity, issuerGrants, BudgetSettings.DEFAULTS);
  }

  /** Without TLS, workload identity or issuer grants. */
  public ControlPlaneConfig(String host, int port, Path dataDir, Duration defaultTtl,
      Duration maxTtl, Map<String, Optional<Duration>> scopes, Set<String> upstreams,
      String defaultUpstream, List<IssuerCredential> issuers, Duration heartbeatInterval,
      int maxDelegationDepth, int metricsPort, Duration shutdownGrace, AuditSettings audit) {
    this(host, port, dataDir, defaultTtl, maxTtl, scopes, upstreams, defaultUpstream, issuers,
        heartbeatInterval, maxDelegationDepth, metricsPort, shutdownGrace, audit,
        Optional.empty(), Optional.empty(), List.of());
  }

  /** A configuration with metrics on an ephemeral port, default grace and audit settings. */
  public ControlPlaneConfig(String host, int port, Path dataDir, Duration defaultTtl,
      Duration maxTtl, Map<String, Optional<Duration>> scopes, Set<String> upstreams,
      String defaultUpstream, List<IssuerCredential> issuers, Duration heartbeatInterval,
      int maxDelegationDepth) {
    this(host, port, dataDir, defaultTtl, maxTtl, scopes, upstreams, defaultUpstream, issuers,
        heartbeatInterval, maxDelegationDepth, 0, DEFAULT_SHUTDOWN_GRACE, AuditSettings.DEFAULTS);
  }

  public ControlPlaneConfig withPort(int newPort) {
    return new ControlPlaneConfig(host, newPort, dataDir, defaultTtl, maxTtl, scopes, upstreams,
        defaultUpstream, issuers, heartbeatInterval, maxDelegationDepth, metricsPort,
        shutdownGrace, audit, tls, workloadIdentity, issuerGrants, budget);
  }

  public ControlPlaneConfig withDataDir(Path newDataDir) {
    return new ControlPlaneConfig(host, port, newDataDir, defaultTtl, maxTtl, scopes, upstreams,
        defaultUpstream, issuers, heartbeatInterval, maxDelegationDepth, metricsPort,
        shutdownGrace, audit, tls, workloadIdentity, issuerGrants, budget);
  }

  public ControlPlaneConfig withMetricsPort(int newMetricsPort) {
    return new ControlPlaneConfig(host, port, dataDir, defaultTtl, maxTtl, scopes, upstreams,
        defaultUpstream, issuers, heartbeatInterval, maxDelegationDepth, newMetricsPort,
        shutdownGrace, audit, tls, workloadIdentity, issuerGrants, budget);
  }

  public ControlPlaneConfig withAudit(AuditSettings newAudit) {
    return new ControlPlaneConfig(host, port, dataDir, defaultTtl, maxTtl, scopes, upstreams,
        defaultUpstream, issuers, heartbeatInterval, maxDelegationDepth, metricsPort,
        shutdownGrace, newAudit, tls, workloadIdentity, issuerGrants, budget);
  }

  /** With mutual TLS on the gRPC port. */
  public ControlPlaneConfig withTls(TlsFiles files) {
    return new ControlPlaneConfig(host, port, dataDir, defaultTtl, maxTtl, scopes, upstreams,
        defaultUpstream, issuers, heartbeatInterval, maxDelegationDepth, metricsPort,
        shutdownGrace, audit, Optional.of(files), workloadIdentity, issuerGrants, budget);
  }

  /** With workload-identity issuers and per-principal ceilings. */
  public ControlPlaneConfig withIssuerIdentity(Optional<WorkloadIdentity> identity,
      List<IssuerGrants> grants) {
    return new ControlPlaneConfig(host, port, dataDir, defaultTtl, maxTtl, scopes, upstreams,
        defaultUpstream, issuers, heartbeatInterval, maxDelegationDepth, metricsPort,
        shutdownGrace, audit, tls, identity, grants, budget);
  }

  /** With per-agent budgets per period (and the lease settings as they are). */
  public ControlPlaneConfig withAgentBudgets(List<AgentBudget> budgets) {
    return withBudget(budget.withAgents(budgets));
  }

  /** Per-agent budgets per period ({@code control_plane.budget.agents}). */
  public List<AgentBudget> agentBudgets() {
    return budget.agents();
  }

  /** With {@code newBudget} as {@code control_plane.budget}'s lease settings. */
  public ControlPlaneConfig withBudget(BudgetSettings newBudget) {
    return new ControlPlaneConfig(host, port, dataDir, defaultTtl, maxTtl, scopes, upstreams,
        defaultUpstream, issuers, heartbeatInterval, maxDelegationDepth, metricsPort,
        shutdownGrace, audit, tls, workloadIdentity, issuerGrants, newBudget);
  }

  /** Throws IllegalArgumentException naming the first field that is wrong. */
  public ControlPlaneConfig validate() {
    require(port >= 0 && port <= 65535, "control_plane.port", "must be 0-65535, got " + port);
    require(host != null && !host.isBlank(), "control_plane.host", "must not be empty");
    require(dataDir != null, "control_plane.data_dir", "must be set");
    require(maxTtl.compareTo(MIN_TTL) >= 0, "control_plane.max_ttl",
        "must be at least " + DurationText.format(MIN_TTL));
    require(defaultTtl.compareTo(MIN_TTL) >= 0, "control_plane.default_ttl",
        "must be at least " + DurationText.format(MIN_TTL));
    require(defaultTtl.compareTo(maxTtl) <= 0, "control_plane.default_ttl",
        DurationText.format(defaultTtl) + " exceeds max_ttl " + DurationText.format(maxTtl));
    require(!scopes.isEmpty(), "scopes", "at least one scope must be defined");
    scopes.forEach((name, ttl) -> ttl.ifPresent(t -> require(
        t.compareTo(MIN_TTL) >= 0 && t.compareTo(maxTtl) <= 0, "scopes." + name + ".max_ttl",
        "must lie between " + DurationText.format(MIN_TTL) + " and max_ttl "
            + DurationText.format(maxTtl))));
    require(!upstreams.isEmpty(), "upstreams", "at least one upstream must be defined");
    require(upstreams.contains(defaultUpstream), "control_plane.default_upstream",
        "'" + defaultUpstream + "' is not one of the upstreams " + upstreams);
    require(!issuers.isEmpty() || workloadIdentity.isPresent(), "control_plane.issuers",
        "at least one issuer (or control_plane.workload_identity) is needed, or nobody can "
            + "mint tokens");
    require(issuers.stream().map(IssuerCredential::id).distinct().count() == issuers.size(),
        "control_plane.issuers", "issuer ids must be unique");
    require(heartbeatInterval.toMillis() >= 10, "control_plane.heartbeat_interval",
        "must be at least 10ms");
    require(maxDelegationDepth >= 0 && maxDelegationDepth <= MAX_MAX_DELEGATION_DEPTH,
        "control_plane.max_delegation_depth",
        "must lie between 0 and " + MAX_MAX_DELEGATION_DEPTH + ", got " + maxDelegationDepth);
    require(metricsPort >= -1 && metricsPort <= 65535, "control_plane.metrics_port",
        "must be -1 (off), 0 (ephemeral) or a port, got " + metricsPort);
    require(metricsPort <= 0 || metricsPort != port, "control_plane.metrics_port",
        "must differ from control_plane.port " + port);
    require(shutdownGrace != null && !shutdownGrace.isNegative(),
        "control_plane.shutdown_grace", "must not be negative");
    require(audit != null, "control_plane.audit", "must be set");
    audit.validate();
    budget.validate();
    require(workloadIdentity.isEmpty() || !issuerGrants.isEmpty(),
        "control_plane.issuer_grants", "workload_identity is set but no principal has a grant,"
            + " so no workload could issue");
    for (int i = 0; i < issuerGrants.size(); i++) {
      validateGrant("control_plane.issuer_grants[" + i + "]", issuerGrants.get(i));
    }
    return this;
  }

  private void validateGrant(String field, IssuerGrants grant) {
    for (String scope : grant.scopes()) {
      require(scopes.containsKey(scope), field + ".scopes",
          "unknown scope '" + scope + "'; known scopes: " + new java.util.TreeSet<>(
              scopes.keySet()));
    }
    for (String upstream : grant.upstreams()) {
      require(upstreams.contains(upstream), field + ".upstreams",
          "unknown upstream '" + upstream + "'; known upstreams: " + new java.util.TreeSet<>(
              upstreams));
    }
    grant.maxTtl().ifPresent(t -> require(
        t.compareTo(MIN_TTL) >= 0 && t.compareTo(maxTtl) <= 0, field + ".max_ttl",
        "must lie between " + DurationText.format(MIN_TTL) + " and control_plane.max_ttl "
            + DurationText.format(maxTtl)));
    grant.maxDelegationDepth().ifPresent(d -> require(d >= 0 && d <= maxDelegationDepth,
        field + ".max_delegation_depth", "must lie between 0 and control_plane."
            + "max_delegation_depth " + maxDelegationDepth + ", got " + d));
  }

  private static void require(boolean ok, String field, String problem) {
    if (!ok) {
      throw new IllegalArgumentException(field + ": " + problem);
    }
  }
}
