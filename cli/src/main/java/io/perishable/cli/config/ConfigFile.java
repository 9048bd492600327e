package io.perishable.cli.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.perishable.authz.config.AuthzConfig;
import io.perishable.authz.config.BudgetSettings;
import io.perishable.authz.report.ReportConfig;
import io.perishable.authz.report.SpoolFullPolicy;
import io.perishable.authz.scope.PathPattern;
import io.perishable.authz.scope.RateLimit;
import io.perishable.authz.scope.ScopeDefinition;
import io.perishable.authz.upstream.Provider;
import io.perishable.authz.upstream.UpstreamConfig;
import io.perishable.authz.upstream.VaultKey;
import io.perishable.tls.TlsFiles;
import io.perishable.controlplane.budget.AgentBudget;
import io.perishable.controlplane.config.AuditSettings;
import io.perishable.controlplane.config.ControlPlaneConfig;
import io.perishable.controlplane.config.IssuerCredential;
import io.perishable.controlplane.issuer.IssuerGrants;
import io.perishable.controlplane.issuer.WorkloadIdentity;
import java.io.IOException;
import java.net.URI;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;

/**
 * Reads {@code perishable.yaml}. Relative paths in the file are resolved against the file's
 * directory, so a config works wherever it is started from.
 */
public final class ConfigFile {
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  private final ConfigNode root;
  private final Path baseDir;

  private ConfigFile(JsonNode root, Path baseDir) {
    this.root = new ConfigNode(root, "");
    this.baseDir = baseDir;
    this.root.allowOnly(Set.of("control_plane", "authz", "scopes", "upstreams"));
  }

  /** Parses {@code file}; throws IllegalArgumentException naming the file and the problem. */
  public static ConfigFile load(Path file) {
    try {
      return parse(Files.readString(file), file.toAbsolutePath().getParent());
    } catch (NoSuchFileException e) {
      throw new IllegalArgumentException("config file " + file + " does not exist");
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read config file " + file + ": " + e);
    }
  }

  /** Parses YAML text; relative paths resolve against {@code baseDir}. */
  public static ConfigFile parse(String yaml, Path baseDir) {
    JsonNode root;
    try {
      root = YAML.readTree(yaml);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("config is not valid YAML: "
          + e.getOriginalMessage() + " at line " + e.getLocation().getLineNr());
    }
    if (root == null || root.isMissingNode()) {
      throw new IllegalArgumentException("config is empty");
    }
    if (!root.isObject()) {
      throw new IllegalArgumentException("config must be a mapping at the top level");
    }
    return new ConfigFile(root, baseDir);
  }

  /** The control plane's configuration: its section plus the scope and upstream names. */
  public ControlPlaneConfig controlPlane() {
    ConfigNode cp = root.child("control_plane").allowOnly(Set.of("host", "port", "data_dir",
        "default_ttl", "max_ttl", "default_upstream", "heartbeat_interval", "issuers",
        "max_delegation_depth", "metrics_port", "shutdown_grace", "audit", "tls",
        "workload_identity", "issuer_grants", "budget"));
    ConfigNode cpBudget = cp.child("budget").allowOnly(Set.of("lease_ttl", "agents"));
    ConfigNode audit = cp.child("audit").allowOnly(Set.of("checkpoint_interval",
        "checkpoint_every_records", "quarantine_damaged_tail"));
    Map<String, Optional<Duration>> scopes = new LinkedHashMap<>();
    for (Map.Entry<String, ConfigNode> e : scopeEntries().entrySet()) {
      scopes.put(e.getKey(), e.getValue().child("max_ttl").optionalDuration());
    }
    Set<String> upstreams = new LinkedHashSet<>(upstreamEntries().keySet());
    List<IssuerCredential> issuers = new ArrayList<>();
    for (ConfigNode issuer : cp.child("issuers").elements()) {
      issuer.allowOnly(Set.of("id", "secret_sha256"));
      String id = issuer.child("id").requiredString();
      try {
        issuers.add(IssuerCredential.ofHex(id, issuer.child("secret_sha256").requiredString()));
      } catch (IllegalArgumentException e) {
        throw issuer.error(e.getMessage());
      }
    }
    String defaultUpstream = cp.child("default_upstream")
        .string(upstreams.isEmpty() ? "" : upstreams.iterator().next());
    return new ControlPlaneConfig(
        cp.child("host").string(ControlPlaneConfig.DEFAULT_HOST),
        cp.child("port").integer(ControlPlaneConfig.DEFAULT_PORT, 0, 65535),
        baseDir.resolve(cp.child("data_dir").string("data/control-plane")).normalize(),
        cp.child("default_ttl").duration(ControlPlaneConfig.DEFAULT_DEFAULT_TTL),
        cp.child("max_ttl").duration(ControlPlaneConfig.DEFAULT_MAX_TTL),
        scopes,
        upstreams,
        defaultUpstream,
        issuers,
        cp.child("heartbeat_interval").duration(ControlPlaneConfig.DEFAULT_HEARTBEAT_INTERVAL),
        cp.child("max_delegation_depth").integer(ControlPlaneConfig.DEFAULT_MAX_DELEGATION_DEPTH,
            0, ControlPlaneConfig.MAX_MAX_DELEGATION_DEPTH),
        cp.child("metrics_port").integer(ControlPlaneConfig.DEFAULT_METRICS_PORT, -1, 65535),
        cp.child("shutdown_grace").duration(ControlPlaneConfig.DEFAULT_SHUTDOWN_GRACE),
        new AuditSettings(
            audit.child("checkpoint_interval").duration(AuditSettings.DEFAULT_CHECKPOINT_INTERVAL),
            audit.child("checkpoint_every_records").longValue(
                AuditSettings.DEFAULT_CHECKPOINT_EVERY_RECORDS, 1, Long.MAX_VALUE),
            audit.child("quarantine_damaged_tail").bool(false)),
        tlsFiles(cp.child("tls")),
        workloadIdentity(cp.child("workload_identity")),
        issuerGrants(cp.child("issuer_grants")),
        new io.perishable.controlplane.config.BudgetSettings(cpBudget.child("lease_ttl")
            .duration(io.perishable.controlplane.config.BudgetSettings.DEFAULT_LEASE_TTL),
            agentBudgets(cpBudget.child("agents"))));
  }

  /**
   * {@code control_plane.budget.agents[]}: per-agent budgets per period, e.g. {@code {agent:
   * summarizer, tokens: 1000000, period: 24h}}.
   */
  private static List<AgentBudget> agentBudgets(ConfigNode list) {
    List<AgentBudget> out = new ArrayList<>();
    for (ConfigNode a : list.elements()) {
      a.allowOnly(Set.of("agent", "tokens", "period"));
      if (a.child("tokens").isMissing()) {
        throw a.child("tokens").error("is required");
      }
      out.add(new AgentBudget(a.child("agent").requiredString(),
          a.child("tokens").longValue(0, 1, Long.MAX_VALUE),
          a.child("period").duration(Duration.ofDays(1))));
    }
    return out;
  }

  /** {@code control_plane.workload_identity}: whose JWTs may authenticate Issue callers. */
  private Optional<WorkloadIdentity> workloadIdentity(ConfigNode wi) {
    if (wi.isMissing()) {
      return Optional.empty();
    }
    wi.allowOnly(Set.of("name", "issuer", "audience", "jwks_file", "jwks_url", "clock_skew"));
    Optional<URI> url;
    try {
      url = wi.child("jwks_url").optionalString().map(URI::create);
    } catch (IllegalArgumentException e) {
      throw wi.child("jwks_url").error("is not a URL");
    }
    if (url.isPresent() && !"https".equals(url.get().getScheme())
        && !"http".equals(url.get().getScheme())) {
      throw wi.child("jwks_url").error("must be an http(s) URL");
    }
    String name = wi.child("name").requiredString();
    String issuer = wi.child("issuer").requiredString();
    String audience = wi.child("audience").requiredString();
    Optional<Path> jwksFile =
        wi.child("jwks_file").optionalString().map(f -> baseDir.resolve(f).normalize());
    Duration clockSkew = wi.child("clock_skew").duration(Duration.ofSeconds(30));
    try {
      return Optional.of(new WorkloadIdentity(name, issuer, audience, jwksFile, url, clockSkew));
    } catch (IllegalArgumentException e) {
      throw wi.error(e.getMessage().replaceFirst("^workload identity [^:]*: ", ""));
    }
  }

  /** {@code control_plane.issuer_grants[]}: per-principal ceilings, first match wins. */
  private static List<IssuerGrants> issuerGrants(ConfigNode list) {
    List<IssuerGrants> out = new ArrayList<>();
    for (ConfigNode g : list.elements()) {
      g.allowOnly(Set.of("principal", "scopes", "models", "upstreams", "max_ttl",
          "max_delegation_depth"));
      ConfigNode depth = g.child("max_delegation_depth");
      out.add(new IssuerGrants(
          g.child("principal").requiredString(),
          new LinkedHashSet<>(g.child("scopes").strings()),
          new LinkedHashSet<>(g.child("models").strings()),
          new LinkedHashSet<>(g.child("upstreams").strings()),
          g.child("max_ttl").optionalDuration(),
          depth.isMissing() ? Optional.empty()
              : Optional.of(depth.integer(0, 0, ControlPlaneConfig.MAX_MAX_DELEGATION_DEPTH))));
    }
    return out;
  }

  /** authz-service's configuration: its section plus the full scope and upstream catalogs. */
  public AuthzConfig authz() {
    ConfigNode az = root.child("authz").allowOnly(Set.of("host", "port", "control_plane",
        "replica_id", "clock_skew", "max_staleness", "max_body_bytes", "max_json_depth",
        "token_cache_size", "metrics_host", "metrics_port", "key_reload_interval", "shutdown_grace",
        "tls", "control_plane_tls", "report", "budget"));
    ConfigNode budget = az.child("budget").allowOnly(Set.of("default_max_tokens", "lease_chunk",
        "renew_interval"));
    ConfigNode defaultMaxTokens = budget.child("default_max_tokens");
    List<ScopeDefinition> scopes = new ArrayList<>();
    for (Map.Entry<String, ConfigNode> e : scopeEntries().entrySet()) {
      ConfigNode scope = e.getValue();
      List<String> methods = scope.child("methods").strings();
      List<PathPattern> paths = new ArrayList<>();
      for (ConfigNode p : scope.child("paths").elements()) {
        try {
          paths.add(PathPattern.compile(p.requiredString()));
        } catch (IllegalArgumentException ex) {
          throw p.error(ex.getMessage());
        }
      }
      Optional<RateLimit> rateLimit;
      try {
        rateLimit = scope.child("rate_limit").optionalString().map(RateLimit::parse);
      } catch (IllegalArgumentException ex) {
        throw scope.child("rate_limit").error(ex.getMessage());
      }
      try {
        Set<String> upper = new LinkedHashSet<>();
        methods.forEach(m -> upper.add(m.toUpperCase(Locale.ROOT)));
        scopes.add(new ScopeDefinition(e.getKey(), upper, paths, rateLimit));
      } catch (IllegalArgumentException ex) {
        throw scope.error(ex.getMessage());
      }
    }
    List<UpstreamConfig> upstreams = new ArrayList<>();
    for (Map.Entry<String, ConfigNode> e : upstreamEntries().entrySet()) {
      ConfigNode u = e.getValue();
      String providerName = u.child("provider").requiredString();
      Provider provider;
      try {
        provider = Provider.valueOf(providerName.toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException ex) {
        throw u.child("provider").error("must be openai or anthropic, got '" + providerName + "'");
      }
      try {
        upstreams.add(new UpstreamConfig(e.getKey(), provider,
            u.child("api_key_file").optionalString().map(p -> baseDir.resolve(p).normalize()),
            u.child("api_key_env").optionalString(),
            vaultKey(u.child("api_key_vault")),
            u.child("anthropic_version").string(UpstreamConfig.DEFAULT_ANTHROPIC_VERSION)));
      } catch (IllegalArgumentException ex) {
        throw new IllegalArgumentException(ex.getMessage().startsWith("upstreams")
            ? ex.getMessage() : u.path() + ": " + ex.getMessage());
      }
    }
    ConfigNode staleness = az.child("max_staleness");
    Optional<Duration> maxStaleness = staleness.isMissing()
        ? Optional.of(AuthzConfig.DEFAULT_MAX_STALENESS)
        : "off".equals(staleness.string(null)) ? Optional.empty() : staleness.optionalDuration();
    String host = az.child("host").string(AuthzConfig.DEFAULT_HOST);
    return new AuthzConfig(
        host,
        az.child("port").integer(AuthzConfig.DEFAULT_PORT, 0, 65535),
        az.child("control_plane").string(AuthzConfig.DEFAULT_CONTROL_PLANE),
        az.child("replica_id").string(defaultReplicaId()),
        az.child("clock_skew").duration(AuthzConfig.DEFAULT_CLOCK_SKEW),
        maxStaleness,
        az.child("max_body_bytes").integer(AuthzConfig.DEFAULT_MAX_BODY_BYTES, 1024,
            Integer.MAX_VALUE),
        az.child("max_json_depth").integer(AuthzConfig.DEFAULT_MAX_JSON_DEPTH, 4, 1000),
        az.child("token_cache_size").longValue(AuthzConfig.DEFAULT_TOKEN_CACHE_SIZE, 1,
            Long.MAX_VALUE),
        scopes,
        upstreams,
        az.child("metrics_port").integer(AuthzConfig.DEFAULT_METRICS_PORT, -1, 65535),
        az.child("key_reload_interval").duration(AuthzConfig.DEFAULT_KEY_RELOAD_INTERVAL),
        az.child("shutdown_grace").duration(AuthzConfig.DEFAULT_SHUTDOWN_GRACE),
        tlsFiles(az.child("tls")),
        tlsFiles(az.child("control_plane_tls")),
        az.child("metrics_host").string(host),
        new BudgetSettings(
            defaultMaxTokens.isMissing() ? OptionalLong.empty()
                : OptionalLong.of(defaultMaxTokens.longValue(0, 1, Long.MAX_VALUE)),
            budget.child("lease_chunk").longValue(BudgetSettings.DEFAULT_LEASE_CHUNK, 1,
                Long.MAX_VALUE),
            budget.child("renew_interval").duration(BudgetSettings.DEFAULT_RENEW_INTERVAL)));
  }

  /**
   * {@code authz.report}: stream every decision to the control plane's audit log through a
   * local spool. Empty when the section is absent.
   */
  public Optional<ReportConfig> authzReports() {
    ConfigNode report = root.child("authz").child("report");
    if (report.isMissing()) {
      return Optional.empty();
    }
    report.allowOnly(Set.of("spool_dir", "spool_capacity_bytes", "when_spool_full",
        "fsync_interval"));
    String policy = report.child("when_spool_full").string("fail_closed");
    SpoolFullPolicy whenFull;
    try {
      whenFull = SpoolFullPolicy.valueOf(policy.toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw report.child("when_spool_full").error(
          "must be fail_closed or keep_serving, got '" + policy + "'");
    }
    try {
      return Optional.of(ReportConfig.defaults(authz().replicaId(),
              baseDir.resolve(report.child("spool_dir").string("data/authz/report-spool"))
                  .normalize())
          .withSpool(report.child("spool_capacity_bytes").longValue(
              ReportConfig.DEFAULT_SPOOL_CAPACITY_BYTES, 1L << 20, Long.MAX_VALUE), whenFull)
          .withFsyncInterval(report.child("fsync_interval")
              .duration(ReportConfig.DEFAULT_FSYNC_INTERVAL))
          .validate());
    } catch (IllegalArgumentException e) {
      throw report.error(e.getMessage());
    }
  }

  /** A mutual-TLS section: cert_file, key_file, ca_file (PEM), reload_interval. */
  private Optional<TlsFiles> tlsFiles(ConfigNode tls) {
    if (tls.isMissing()) {
      return Optional.empty();
    }
    tls.allowOnly(Set.of("cert_file", "key_file", "ca_file", "reload_interval"));
    try {
      return Optional.of(new TlsFiles(
          baseDir.resolve(tls.child("cert_file").requiredString()).normalize(),
          baseDir.resolve(tls.child("key_file").requiredString()).normalize(),
          baseDir.resolve(tls.child("ca_file").requiredString()).normalize(),
          tls.child("reload_interval").duration(TlsFiles.DEFAULT_RELOAD_INTERVAL)));
    } catch (IllegalArgumentException e) {
      throw tls.error(e.getMessage().replaceFirst("^tls\\.", ""));
    }
  }

  private Optional<VaultKey> vaultKey(ConfigNode vault) {
    if (vault.isMissing()) {
      return Optional.empty();
    }
    vault.allowOnly(Set.of("address", "mount", "path", "field", "token_file", "token_env"));
    URI address;
    try {
      address = URI.create(vault.child("address").requiredString());
    } catch (IllegalArgumentException ex) {
      throw vault.child("address").error("is not a URL");
    }
    try {
      return Optional.of(new VaultKey(address, vault.child("mount").string("secret"),
          vault.child("path").requiredString(), vault.child("field").string("api_key"),
          vault.child("token_file").optionalString().map(p -> baseDir.resolve(p).normalize()),
          vault.child("token_env").optionalString()));
    } catch (IllegalArgumentException ex) {
      throw vault.error(ex.getMessage().replaceFirst("^api_key_vault[.:]\\s*", ""));
    }
  }

  private Map<String, ConfigNode> scopeEntries() {
    Map<String, ConfigNode> scopes = root.child("scopes").entries();
    for (ConfigNode scope : scopes.values()) {
      scope.allowOnly(Set.of("methods", "paths", "max_ttl", "rate_limit"));
    }
    return scopes;
  }

  private Map<String, ConfigNode> upstreamEntries() {
    Map<String, ConfigNode> upstreams = root.child("upstreams").entries();
    for (ConfigNode upstream : upstreams.values()) {
      upstream.allowOnly(Set.of("provider", "api_key_file", "api_key_env", "api_key_vault",
          "anthropic_version"));
    }
    return upstreams;
  }

  private static String defaultReplicaId() {
    String fromEnv = System.getenv("HOSTNAME");
    if (fromEnv != null && !fromEnv.isBlank()) {
      return fromEnv;
    }
    try {
      return InetAddress.getLocalHost().getHostName();
    } catch (UnknownHostException e) {
      return "authz";
    }
  }
}
