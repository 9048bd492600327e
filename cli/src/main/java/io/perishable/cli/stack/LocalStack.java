package io.perishable.cli.stack;

import io.perishable.authz.AuthzServer;
import io.perishable.authz.config.AuthzConfig;
import io.perishable.authz.decision.DecisionListener;
import io.perishable.cli.config.ConfigFile;
import io.perishable.controlplane.ControlPlaneServer;
import io.perishable.controlplane.config.ControlPlaneConfig;
import io.perishable.controlplane.issuer.IssuerAuthenticator;
import io.perishable.fakellm.FakeLlmUpstream;
import io.perishable.tls.TlsFiles;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The whole system on loopback: the control plane and authz-service (in this JVM) and a real
 * Envoy. Used by {@code perishable stack} and by the integration tests.
 *
 * <p>With no provider key in the environment, requests go to the fake LLM upstream and Envoy
 * runs the shipped {@code envoy/dev.yaml} with its ports rewritten. With {@code OPENAI_API_KEY}
 * and/or {@code ANTHROPIC_API_KEY} set, exactly those providers are configured, with their real
 * keys, and Envoy runs {@code envoy/production.example.yaml} pinned to loopback (TLS to the
 * providers).
 *
 * <p>Secrets it makes (the issuer secret, the fake provider keys) live under the data
 * directory with owner-only permissions.
 */
public final class LocalStack implements AutoCloseable {
  /**
   * How to start.
   *
   * @param ports 0 for any to pick a free one
   * @param authzClock the clock authz-service decides with (tests inject a movable one)
   * @param decisionListener told of every decision (e.g. {@code new DecisionLog()})
   */
  public record Options(
      Path repoRoot,
      Path dataDir,
      Map<String, String> environment,
      int envoyPort,
      int envoyAdminPort,
      int controlPlanePort,
      int authzPort,
      int fakeLlmPort,
      Clock controlPlaneClock,
      Clock authzClock,
      DecisionListener decisionListener,
      Optional<Mtls> authzMtls) {

    /** Without mTLS between Envoy and authz-service. */
    public Options(Path repoRoot, Path dataDir, Map<String, String> environment, int envoyPort,
        int envoyAdminPort, int controlPlanePort, int authzPort, int fakeLlmPort,
        Clock controlPlaneClock, Clock authzClock, DecisionListener decisionListener) {
      this(repoRoot, dataDir, environment, envoyPort, envoyAdminPort, controlPlanePort,
          authzPort, fakeLlmPort, controlPlaneClock, authzClock, decisionListener,
          Optional.empty());
    }

    /** Envoy and authz-service talk mutual TLS with these credentials. */
    public Options withAuthzMtls(Mtls mtls) {
      return new Options(repoRoot, dataDir, environment, envoyPort, envoyAdminPort,
          controlPlanePort, authzPort, fakeLlmPort, controlPlaneClock, authzClock,
          decisionListener, Optional.of(mtls));
    }

    /** Every port ephemeral, system clocks: what tests start from. */
    public static Options ephemeral(Path repoRoot, Path dataDir, DecisionListener listener) {
      return new Options(repoRoot, dataDir, Map.of(), 0, 0, 0, 0, 0, Clock.systemUTC(),
          Clock.systemUTC(), listener);
    }

    public Options withAuthzClock(Clock clock) {
      return new Options(repoRoot, dataDir, environment, envoyPort, envoyAdminPort,
          controlPlanePort, authzPort, fakeLlmPort, controlPlaneClock, clock, decisionListener,
          authzMtls);
    }
  }

  private final List<AutoCloseable> started;
  /**
   * Credentials for mutual TLS between Envoy (client) and authz-service (server); the server
   * certificate must name {@code serverName}. With {@code controlPlane}, the control plane's
   * port is mutual TLS too: authz-service syncs and reports with its client certificate, and
   * Envoy sends its access log with {@code envoyClient}.
   */
  public record Mtls(TlsFiles authzServer, TlsFiles envoyClient, String serverName,
      Optional<ControlPlaneMtls> controlPlane) {
    /** Only Envoy ↔ authz-service. */
    public Mtls(TlsFiles authzServer, TlsFiles envoyClient, String serverName) {
      this(authzServer, envoyClient, serverName, Optional.empty());
    }
  }

  /** The control plane's server credentials and authz-service's client credentials for it. */
  public record ControlPlaneMtls(TlsFiles server, TlsFiles authzClient) {}

  /** Environment variables whose presence switches a provider from fake to real. */
  public static final String OPENAI_KEY_ENV = "OPENAI_API_KEY";
  public static final String ANTHROPIC_KEY_ENV = "ANTHROPIC_API_KEY";

  private final FakeLlmUpstream fakeLlm;
  private final ControlPlaneServer controlPlane;
  private final AuthzServer authz;
  private final EnvoyProcess envoy;
  private final int envoyPort;
  private final int envoyAdminPort;
  private final String issuerSecret;
  private final String openAiKey;
  private final String anthropicKey;
  private final Path configFile;

  private LocalStack(List<AutoCloseable> started, FakeLlmUpstream fakeLlm,
      ControlPlaneServer controlPlane, AuthzServer authz, EnvoyProcess envoy, int envoyPort,
      int envoyAdminPort, String issuerSecret, String openAiKey, String anthropicKey,
      Path configFile) {
    this.started = started;
    this.fakeLlm = fakeLlm;
    this.controlPlane = controlPlane;
    this.authz = authz;
    this.envoy = envoy;
    this.envoyPort = envoyPort;
    this.envoyAdminPort = envoyAdminPort;
    this.issuerSecret = issuerSecret;
    this.openAiKey = openAiKey;
    this.anthropicKey = anthropicKey;
    this.configFile = configFile;
  }

  /** Starts everything, or nothing: on failure whatever started is stopped again. */
  public static LocalStack start(Options options) {
    List<AutoCloseable> started = new ArrayList<>();
    try {
      Path data = options.dataDir().toAbsolutePath();
      Files.createDirectories(data);
      String issuerSecret = secretFile(data.resolve("issuer-secret"), "pis_");
      String openAiKey = secretFile(data.resolve("upstream-keys/openai.key"), "sk-fake-openai-");
      String anthropicKey =
          secretFile(data.resolve("upstream-keys/anthropic.key"), "sk-ant-fake-");

      boolean real = realProviders(options.environment());
      FakeLlmUpstream fakeLlm = null;
      if (!real) {
        fakeLlm = FakeLlmUpstream.start(pick(options.fakeLlmPort()), openAiKey, anthropicKey);
        started.add(fakeLlm);
      }

      int cpPort = pick(options.controlPlanePort());
      int authzPort = pick(options.authzPort());
      Path configFile = data.resolve("perishable.yaml");
      Files.writeString(configFile, render(Map.of(
          "CONTROL_PLANE_PORT", Integer.toString(cpPort),
          "AUTHZ_PORT", Integer.toString(authzPort),
          "ISSUER_SECRET_SHA256",
          HexFormat.of().formatHex(IssuerAuthenticator.sha256(issuerSecret)),
          "REPLICA_ID", "stack-authz",
          // authz metrics: ephemeral beside an ephemeral authz port, else authz port + 10.
          "AUTHZ_METRICS_PORT", options.authzPort() == 0 ? "0"
              : Integer.toString(options.authzPort() + 10),
          "UPSTREAMS", upstreams(options.environment()))));
      ConfigFile config = ConfigFile.load(configFile);

      Optional<ControlPlaneMtls> cpMtls = options.authzMtls().flatMap(Mtls::controlPlane);
      ControlPlaneConfig cpConfig = config.controlPlane();
      if (cpMtls.isPresent()) {
        cpConfig = cpConfig.withTls(cpMtls.get().server());
      }
      ControlPlaneServer controlPlane =
          ControlPlaneServer.start(cpConfig, options.controlPlaneClock());
      started.add(controlPlane);
      AuthzConfig authzConfig = config.authz();
      if (options.authzMtls().isPresent()) {
        authzConfig = authzConfig.withTls(options.authzMtls().get().authzServer());
      }
      if (cpMtls.isPresent()) {
        authzConfig = authzConfig.withControlPlaneTls(cpMtls.get().authzClient());
      }
      AuthzServer authz = AuthzServer.start(authzConfig, config.authzReports(),
          options.authzClock(),
          options.environment()::get, options.decisionListener());
      started.add(authz);
      awaitReady(authz, Duration.ofSeconds(20));

      int envoyPort = pick(options.envoyPort());
      int adminPort = pick(options.envoyAdminPort());
      Path envoyConfig = data.resolve("envoy.yaml");
      EnvoyConfig bootstrap = envoyConfig(options.repoRoot(), real, envoyPort, adminPort,
          authz.port(), fakeLlm == null ? 0 : fakeLlm.port())
          // Envoy's access log (RESPONSE audit records) goes to this stack's control plane.
          .withClusterEndpoint("perishable_control_plane", "127.0.0.1", controlPlane.port());
      if (options.authzMtls().isPresent()) {
        Mtls mtls = options.authzMtls().get();
        bootstrap = bootstrap.withClusterTls("perishable_authz",
            mtls.envoyClient().certificateChain(), mtls.envoyClient().privateKey(),
            mtls.envoyClient().trustedCa(), mtls.serverName());
        if (mtls.controlPlane().isPresent()) {
          bootstrap = bootstrap.withClusterTls("perishable_control_plane",
              mtls.envoyClient().certificateChain(), mtls.envoyClient().privateKey(),
              mtls.envoyClient().trustedCa(), mtls.serverName());
        }
      }
      bootstrap.write(envoyConfig);
      Path envoyBinary = EnvoyBinary.locate(options.repoRoot());
      EnvoyProcess envoy =
          EnvoyProcess.start(envoyBinary, envoyConfig, adminPort, data.resolve("envoy.log"));
      started.add(envoy);
      return new LocalStack(started, fakeLlm, controlPlane, authz, envoy, envoyPort, adminPort,
          issuerSecret, openAiKey, anthropicKey, configFile);
    } catch (IOException e) {
      closeAll(started);
      throw new UncheckedIOException(e);
    } catch (RuntimeException | Error e) {
      closeAll(started);
      throw e;
    }
  }

  /** True when the environment names at least one real provider key. */
  static boolean realProviders(Map<String, String> environment) {
    return present(environment, OPENAI_KEY_ENV) || present(environment, ANTHROPIC_KEY_ENV);
  }

  private static boolean present(Map<String, String> environment, String name) {
    String value = environment.get(name);
    return value != null && !value.isBlank();
  }

  /** The config's upstreams section: real keys from the environment, else the fake's files. */
  static String upstreams(Map<String, String> environment) {
    if (!realProviders(environment)) {
      return "  openai:\n    provider: openai\n    api_key_file: upstream-keys/openai.key\n"
          + "  anthropic:\n    provider: anthropic\n"
          + "    api_key_file: upstream-keys/anthropic.key\n";
    }
    StringBuilder out = new StringBuilder();
    if (present(environment, OPENAI_KEY_ENV)) {
      out.append("  openai:\n    provider: openai\n    api_key_env: ").append(OPENAI_KEY_ENV)
          .append('\n');
    }
    if (present(environment, ANTHROPIC_KEY_ENV)) {
      out.append("  anthropic:\n    provider: anthropic\n    api_key_env: ")
          .append(ANTHROPIC_KEY_ENV).append('\n');
    }
    return out.toString();
  }

  /**
   * The Envoy bootstrap the stack runs: dev.yaml pointed at the fake, or the production example
   * pinned to loopback with the authz cluster pointed at this stack's authz-service.
   */
  static EnvoyConfig envoyConfig(Path repoRoot, boolean realProviders, int envoyPort,
      int adminPort, int authzPort, int fakeLlmPort) throws IOException {
    if (realProviders) {
      return EnvoyConfig.load(repoRoot.resolve("envoy/production.example.yaml"))
          .withAdminPort(adminPort)
          .withListenerAddress("llm_ingress", "127.0.0.1")
          .withListenerPort("llm_ingress", envoyPort)
          .withClusterEndpoint("perishable_authz", "127.0.0.1", authzPort);
    }
    return EnvoyConfig.load(repoRoot.resolve("envoy/dev.yaml"))
        .withAdminPort(adminPort)
        .withListenerPort("llm_ingress", envoyPort)
        .withClusterEndpoint("perishable_authz", "127.0.0.1", authzPort)
        .withClusterEndpoint("upstream_openai", "127.0.0.1", fakeLlmPort)
        .withClusterEndpoint("upstream_anthropic", "127.0.0.1", fakeLlmPort);
  }

  private static int pick(int port) {
    return port == 0 ? LoopbackPorts.freePort() : port;
  }

  private static void awaitReady(AuthzServer authz, Duration timeout) {
    Instant deadline = Instant.now().plus(timeout);
    while (!authz.ready()) {
      if (Instant.now().isAfter(deadline)) {
        throw new IllegalStateException("authz-service got no key snapshot from the control "
            + "plane within " + timeout.toSeconds() + "s");
      }
      Thread.onSpinWait();
      try {
        Thread.sleep(10);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while waiting for authz-service");
      }
    }
  }

  /** Reads a secret file, creating it (mode 0600) with a fresh random secret if absent. */
  private static String secretFile(Path file, String prefix) throws IOException {
    if (Files.exists(file)) {
      return Files.readString(file, StandardCharsets.UTF_8).strip();
    }
    Files.createDirectories(file.getParent());
    byte[] bytes = new byte[24];
    new SecureRandom().nextBytes(bytes);
    String secret = prefix + Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    Files.createFile(file, PosixFilePermissions.asFileAttribute(
        PosixFilePermissions.fromString("rw-------")));
    Files.writeString(file, secret + "\n", StandardCharsets.UTF_8);
    return secret;
  }

  private static String render(Map<String, String> values) throws IOException {
    String template;
    try (InputStream in = LocalStack.class.getResourceAsStream("stack.yaml")) {
      template = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    for (Map.Entry<String, String> e : values.entrySet()) {
      template = template.replace("${" + e.getKey() + "}", e.getValue());
    }
    return template;
  }

  public int envoyPort() {
    return envoyPort;
  }

  public int envoyAdminPort() {
    return envoyAdminPort;
  }

  public String envoyUrl() {
    return "http://127.0.0.1:" + envoyPort;
  }

  public int controlPlanePort() {
    return controlPlane.port();
  }

  public String controlPlaneTarget() {
    return "127.0.0.1:" + controlPlane.port();
  }

  public int authzPort() {
    return authz.port();
  }

  /** The fake upstream; empty when real provider keys are configured. */
  public FakeLlmUpstream fakeLlm() {
    if (fakeLlm == null) {
      throw new IllegalStateException("the stack runs against real providers: no fake upstream");
    }
    return fakeLlm;
  }

  public boolean usesFakeUpstream() {
    return fakeLlm != null;
  }

  public ControlPlaneServer controlPlane() {
    return controlPlane;
  }

  public AuthzServer authz() {
    return authz;
  }

  public EnvoyProcess envoy() {
    return envoy;
  }

  /** The issuer secret for TokenService calls. Secret. */
  public String issuerSecret() {
    return issuerSecret;
  }

  /** The fake upstream's OpenAI key: the one requests must arrive with. Secret. */
  public String openAiKey() {
    return openAiKey;
  }

  /** The fake upstream's Anthropic key. Secret. */
  public String anthropicKey() {
    return anthropicKey;
  }

  public Path configFile() {
    return configFile;
  }

  @Override
  public void close() {
    closeAll(started);
  }

  private static void closeAll(List<AutoCloseable> started) {
    for (int i = started.size() - 1; i >= 0; i--) {
      try {
        started.get(i).close();
      } catch (Exception e) {
        // Keep stopping the rest.
      }
    }
    started.clear();
  }
}
