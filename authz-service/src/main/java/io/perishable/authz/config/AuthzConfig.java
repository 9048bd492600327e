package io.perishable.authz.config;

import io.perishable.authz.scope.ScopeDefinition;
import io.perishable.authz.upstream.UpstreamConfig;
import io.perishable.tls.TlsFiles;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * Everything authz-service is configured with. Built by the command line from the YAML file
 * and flags.
 *
 * @param host address to listen on for Envoy's Check calls
 * @param port gRPC port (0 = ephemeral, for tests)
 * @param controlPlane {@code host:port} of the control plane's Sync stream
 * @param replicaId this replica's name on the Sync stream and in logs
 * @param clockSkew how far this host's clock may disagree with the control plane's
 * @param maxStaleness deny everything once the control plane has been silent this long; empty
 *     keeps serving on the last pushed state
 * @param maxBodyBytes the largest body Envoy buffers for inspection (Envoy answers 413 above)
 * @param maxJsonDepth deepest JSON nesting accepted in a body
 * @param tokenCacheSize most verified tokens kept in memory
 * @param scopes the scope catalog
 * @param upstreams the providers tokens may be routed to
 * @param metricsPort HTTP port of {@code /metrics} (0 = ephemeral, -1 = off)
 * @param keyReloadInterval how often key files and Vault secrets are re-read
 * @param shutdownGrace how long a stop waits for in-flight Checks before cutting them off
 * @param tls serve Check over mutual TLS (Envoy must present a certificate from the CA)
 * @param controlPlaneTls reach the control plane's Sync stream over mutual TLS
 * @param metricsHost address {@code /metrics} listens on; usually {@code host}, but in a pod
 *     where Check listens on loopback for the Envoy beside it, the pod's address (e.g.
 *     {@code 0.0.0.0}) lets Prometheus scrape it
 * @param budget admission and leasing of token budgets ({@code authz.budget})
 */
public record AuthzConfig(
    String host,
    int port,
    String controlPlane,
    String replicaId,
    Duration clockSkew,
    Optional<Duration> maxStaleness,
    int maxBodyBytes,
    int maxJsonDepth,
    long tokenCacheSize,
    List<ScopeDefinition> scopes,
    List<UpstreamConfig> upstreams,
    int metricsPort,
    Duration keyReloadInterval,
    Duration shutdownGrace,
    Optional<TlsFiles> tls,
    Optional<TlsFiles> controlPlaneTls,
    String metricsHost,
    BudgetSettings budget) {

  public static final String DEFAULT_HOST = "127.0.0.1";
  public static final int DEFAULT_PORT = 7401;
  public static final String DEFAULT_CONTROL_PLANE = "127.0.0.1:7400";
  public static final Duration DEFAULT_CLOCK_SKEW = Duration.ofSeconds(30);
  public static final Duration DEFAULT_MAX_STALENESS = Duration.ofMinutes(1);
  public static final int DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024;
  public static final int DEFAULT_MAX_JSON_DEPTH = 64;
  public static final long DEFAULT_TOKEN_CACHE_SIZE = 100_000;
  public static final int DEFAULT_METRICS_PORT = 7411;
  public static final Duration DEFAULT_KEY_RELOAD_INTERVAL = Duration.ofSeconds(10);
  public static final Duration DEFAULT_SHUTDOWN_GRACE = Duration.ofSeconds(10);

  public AuthzConfig {
    scopes = List.copyOf(scopes);
    upstreams = List.copyOf(upstreams);
    budget = budget == null ? BudgetSettings.DEFAULTS : budget;
  }

  /** With the default budget settings. */
  public AuthzConfig(String host, int port, String controlPlane, String replicaId,
      Duration clockSkew, Optional<Duration> maxStaleness, int maxBodyBytes, int maxJsonDepth,
      long tokenCacheSize, List<ScopeDefinition> scopes, List<UpstreamConfig> upstreams,
      int metricsPort, Duration keyReloadInterval, Duration shutdownGrace,
      Optional<TlsFiles> tls, Optional<TlsFiles> controlPlaneTls, String metricsHost) {
    this(host, port, controlPlane, replicaId, clockSkew, maxStaleness, maxBodyBytes,
        maxJsonDepth, tokenCacheSize, scopes, upstreams, metricsPort, keyReloadInterval,
        shutdownGrace, tls, controlPlaneTls, metricsHost, BudgetSettings.DEFAULTS);
  }

  /** {@code /metrics} on the same address as Check. */
  public AuthzConfig(String host, int port, String controlPlane, String replicaId,
      Duration clockSkew, Optional<Duration> maxStaleness, int maxBodyBytes, int maxJsonDepth,
      long tokenCacheSize, List<ScopeDefinition> scopes, List<UpstreamConfig> upstreams,
      int metricsPort, Duration keyReloadInterval, Duration shutdownGrace,
      Optional<TlsFiles> tls, Optional<TlsFiles> controlPlaneTls) {
    this(host, port, controlPlane, replicaId, clockSkew, maxStaleness, maxBodyBytes,
        maxJsonDepth, tokenCacheSize, scopes, upstreams, metricsPort, keyReloadInterval,
        shutdownGrace, tls, controlPlaneTls, host);
  }

  /** Without the operational fields: metrics off, default reload interval and grace. */
  public AuthzConfig(String host, int port, String controlPlane, String replicaId,
      Duration clockSkew, Optional<Duration> maxStaleness, int maxBodyBytes, int maxJsonDepth,
      long tokenCacheSize, List<ScopeDefinition> scopes, List<UpstreamConfig> upstreams) {
    this(host, port, controlPlane, replicaId, clockSkew, maxStaleness, maxBodyBytes,
        maxJsonDepth, tokenCacheSize, scopes, upstreams, -1, DEFAULT_KEY_RELOAD_INTERVAL,
        DEFAULT_SHUTDOWN_GRACE, Optional.empty(), Optional.empty());
  }

  /** Without TLS (plaintext gRPC on both hops). */
  public AuthzConfig(String host, int port, String controlPlane, String replicaId,
      Duration clockSkew, Optional<Duration> maxStaleness, int maxBodyBytes, int maxJsonDepth,
      long tokenCacheSize, List<ScopeDefinition> scopes, List<UpstreamConfig> upstreams,
      int metricsPort, Duration keyReloadInterval, Duration shutdownGrace) {
    this(host, port, controlPlane, replicaId, clockSkew, maxStaleness, maxBodyBytes,
        maxJsonDepth, tokenCacheSize, scopes, upstreams, metricsPort, keyReloadInterval,
        shutdownGrace, Optional.empty(), Optional.empty());
  }

  /** Serves Check over mutual TLS with {@code files}. */
  public AuthzConfig withTls(TlsFiles files) {
    return new AuthzConfig(host, port, controlPlane, replicaId, clockSkew, maxStaleness,
        maxBodyBytes, maxJsonDepth, tokenCacheSize, scopes, upstreams, metricsPort,
        keyReloadInterval, shutdownGrace, Optional.of(files), controlPlaneTls, metricsHost,
        budget);
  }

  /**
   * Check listens on {@code newHost}; {@code /metrics} keeps its own address unless it was the
   * same as Check's, in which case it follows.
   */
  public AuthzConfig withHost(String newHost) {
    String newMetricsHost = metricsHost.equals(host) ? newHost : metricsHost;
    return new AuthzConfig(newHost, port, controlPlane, replicaId, clockSkew, maxStaleness,
        maxBodyBytes, maxJsonDepth, tokenCacheSize, scopes, upstreams, metricsPort,
        keyReloadInterval, shutdownGrace, tls, controlPlaneTls, newMetricsHost, budget);
  }

  /** Syncs with (and reports to) the control plane over mutual TLS with {@code files}. */
  public AuthzConfig withControlPlaneTls(TlsFiles files) {
    return new AuthzConfig(host, port, controlPlane, replicaId, clockSkew, maxStaleness,
        maxBodyBytes, maxJsonDepth, tokenCacheSize, scopes, upstreams, metricsPort,
        keyReloadInterval, shutdownGrace, tls, Optional.of(files), metricsHost, budget);
  }

  public AuthzConfig withPort(int newPort) {
    return new AuthzConfig(host, newPort, controlPlane, replicaId, clockSkew, maxStaleness,
        maxBodyBytes, maxJsonDepth, tokenCacheSize, scopes, upstreams, metricsPort,
        keyReloadInterval, shutdownGrace, tls, controlPlaneTls, metricsHost, budget);
  }

  public AuthzConfig withControlPlane(String target) {
    return new AuthzConfig(host, port, target, replicaId, clockSkew, maxStaleness,
        maxBodyBytes, maxJsonDepth, tokenCacheSize, scopes, upstreams, metricsPort,
        keyReloadInterval, shutdownGrace, tls, controlPlaneTls, metricsHost, budget);
  }

  public AuthzConfig withReplicaId(String id) {
    return new AuthzConfig(host, port, controlPlane, id, clockSkew, maxStaleness,
        maxBodyBytes, maxJsonDepth, tokenCacheSize, scopes, upstreams, metricsPort,
        keyReloadInterval, shutdownGrace, tls, controlPlaneTls, metricsHost, budget);
  }

  public AuthzConfig withMetricsPort(int newMetricsPort) {
    return new AuthzConfig(host, port, controlPlane, replicaId, clockSkew, maxStaleness,
        maxBodyBytes, maxJsonDepth, tokenCacheSize, scopes, upstreams, newMetricsPort,
        keyReloadInterval, shutdownGrace, tls, controlPlaneTls, metricsHost, budget);
  }

  /** With {@code newBudget} as the {@code authz.budget} section. */
  public AuthzConfig withBudget(BudgetSettings newBudget) {
    return new AuthzConfig(host, port, controlPlane, replicaId, clockSkew, maxStaleness,
        maxBodyBytes, maxJsonDepth, tokenCacheSize, scopes, upstreams, metricsPort,
        keyReloadInterval, shutdownGrace, tls, controlPlaneTls, metricsHost, newBudget);
  }

  /** Throws IllegalArgumentException naming the first field that is wrong. */
  public AuthzConfig validate() {
    require(port >= 0 && port <= 65535, "authz.port", "must be 0-65535, got " + port);
    require(host != null && !host.isBlank(), "authz.host", "must not be empty");
    require(controlPlane != null && controlPlane.matches("[^:\\s]+:\\d{1,5}"),
        "authz.control_plane", "must be host:port, got '" + controlPlane + "'");
    require(replicaId != null && !replicaId.isBlank() && replicaId.length() <= 128,
        "authz.replica_id", "must be 1-128 characters");
    require(!clockSkew.isNegative() && clockSkew.compareTo(Duration.ofMinutes(5)) <= 0,
        "authz.clock_skew", "must lie between 0s and 5m");
    maxStaleness.ifPresent(d -> require(d.toMillis() >= 100, "authz.max_staleness",
        "must be at least 100ms (or 'off')"));
    require(maxBodyBytes >= 1024, "authz.max_body_bytes", "must be at least 1024");
    require(maxJsonDepth >= 4 && maxJsonDepth <= 1000, "authz.max_json_depth",
        "must lie between 4 and 1000");
    require(tokenCacheSize >= 1, "authz.token_cache_size", "must be at least 1");
    require(!scopes.isEmpty(), "scopes", "at least one scope must be defined");
    require(!upstreams.isEmpty(), "upstreams", "at least one upstream must be defined");
    require(metricsHost != null && !metricsHost.isBlank(), "authz.metrics_host",
        "must not be empty");
    require(metricsPort >= -1 && metricsPort <= 65535, "authz.metrics_port",
        "must be -1 (off), 0 (any) or a port, got " + metricsPort);
    require(keyReloadInterval.toMillis() >= 100, "authz.key_reload_interval",
        "must be at least 100ms");
    require(!shutdownGrace.isNegative() && shutdownGrace.compareTo(Duration.ofMinutes(10)) <= 0,
        "authz.shutdown_grace", "must lie between 0s and 10m");
    budget.validate();
    return this;
  }

  private static void require(boolean ok, String field, String problem) {
    if (!ok) {
      throw new IllegalArgumentException(field + ": " + problem);
    }
  }
}
