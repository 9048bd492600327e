package io.perishable.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.NettyChannelBuilder;
import io.perishable.authz.AuthzServer;
import io.perishable.authz.config.AuthzConfig;
import io.perishable.authz.decision.DecisionListener;
import io.perishable.cli.config.ConfigFile;
import io.perishable.cli.stack.EnvoyBinary;
import io.perishable.cli.stack.EnvoyConfig;
import io.perishable.cli.stack.EnvoyProcess;
import io.perishable.cli.stack.LoopbackPorts;
import io.perishable.controlplane.ControlPlaneServer;
import io.perishable.controlplane.issuer.IssuerAuthenticator;
import io.perishable.fakellm.FakeLlmUpstream;
import io.perishable.proto.v1.BudgetServiceGrpc;
import io.perishable.proto.v1.TokenServiceGrpc;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * One control plane, one fake LLM, and N authz-service replicas each behind its own real Envoy
 * (N Envoy + authz pairs sharing the control plane), all on loopback. Replica {@code i} is
 * reached through Envoy {@code i}, so a request through pair {@code i} is decided by replica
 * {@code i} and nobody else. Replicas can be stopped and restarted on their port, and so can the
 * control plane (on its port and data_dir); a replica started as its own JVM ({@link
 * Settings#ownProcess}) can be killed with SIGKILL. The agent {@value #BUDGETED_AGENT} has a
 * budget of {@value #AGENT_BUDGET} LLM tokens per day ({@code control_plane.budget.agents}).
 */
final class ReplicatedStack implements AutoCloseable {
  static final ObjectMapper JSON = new ObjectMapper();
  static final String ISSUER_SECRET = "pis_revocation-it-0123456789abcdef";
  private static final String OPENAI_KEY = "sk-fake-openai-revocation-it";
  static final String BUDGETED_AGENT = "agent-budget-it";
  static final long AGENT_BUDGET = 300;

  /**
   * What a test changes from the defaults.
   *
   * @param controlPlaneBudgetYaml lines added to the {@code control_plane.budget} section
   *     (unindented), beside the agent budgets every stack has
   * @param authzYaml lines added to the {@code authz} section (unindented)
   * @param ownProcess replicas that run as their own JVM ({@code perishable authz}) instead of
   *     in this one, so that {@link #killReplica} can SIGKILL them
   */
  record Settings(List<String> controlPlaneBudgetYaml, List<String> authzYaml,
      Set<Integer> ownProcess) {
    static final Settings DEFAULTS = new Settings(List.of(), List.of(), Set.of());
  }

  private final Path data;
  private final Path configFile;
  private final Settings settings;
  private final FakeLlmUpstream fakeLlm;
  private final ConfigFile config;
  private ControlPlaneServer controlPlane;
  private final ManagedChannel controlPlaneChannel;
  private final AuthzConfig authzBase;
  private final List<Pair> pairs = new ArrayList<>();
  private final HttpClient http = HttpClient.newBuilder()
      .version(HttpClient.Version.HTTP_1_1).build();

  /** One Envoy and the replica behind it. */
  private static final class Pair {
    final String replicaId;
    final int authzPort;
    AuthzServer authz;
    Process process;
    EnvoyProcess envoy;
    int envoyPort;

    Pair(String replicaId, int authzPort) {
      this.replicaId = replicaId;
      this.authzPort = authzPort;
    }
  }

  ReplicatedStack(int replicas) throws IOException {
    this(replicas, Settings.DEFAULTS);
  }

  ReplicatedStack(int replicas, Settings settings) throws IOException {
    this.settings = settings;
    // Under target/, so the secret scan after the suite reads these Envoy logs too.
    Path root = Path.of("target", "it-data");
    Files.createDirectories(root);
    data = Files.createTempDirectory(root, "revocation-").toAbsolutePath();
    Files.writeString(data.resolve("openai.key"), OPENAI_KEY + "\n", StandardCharsets.UTF_8);
    configFile = data.resolve("perishable.yaml");
    FakeLlmUpstream llm = FakeLlmUpstream.start(0, OPENAI_KEY, null);
    ControlPlaneServer cp = null;
    try {
      int cpPort = LoopbackPorts.freePort();
      String yaml = yaml(cpPort, settings);
      Files.writeString(configFile, yaml, StandardCharsets.UTF_8);
      config = ConfigFile.parse(yaml, data);
      cp = ControlPlaneServer.start(config.controlPlane(), Clock.systemUTC());
      authzBase = config.authz();
      fakeLlm = llm;
      controlPlane = cp;
      controlPlaneChannel = NettyChannelBuilder.forTarget("127.0.0.1:" + cp.port())
          .usePlaintext().build();
      for (int i = 0; i < replicas; i++) {
        Pair pair = new Pair("replica-" + i, LoopbackPorts.freePort());
        pairs.add(pair);
        startReplica(i);
        startEnvoy(pair);
      }
    } catch (IOException | RuntimeException e) {
      close(llm, cp);
      throw e;
    }
  }

  private static String yaml(int cpPort, Settings settings) {
    List<String> lines = new ArrayList<>(List.of(
        "control_plane:",
        "  port: " + cpPort,
        "  data_dir: control-plane",
        "  default_ttl: 15m",
        "  max_ttl: 1h",
        "  default_upstream: openai",
        "  heartbeat_interval: 200ms",
        "  max_delegation_depth: 4",
        "  metrics_port: 0",
        "  budget:",
        "    agents:",
        "      - {agent: " + BUDGETED_AGENT + ", tokens: " + AGENT_BUDGET + ", period: 24h}"));
    settings.controlPlaneBudgetYaml().forEach(l -> lines.add("    " + l));
    lines.addAll(List.of(
        "  issuers:",
        "    - id: revocation-it",
        "      secret_sha256: "
            + HexFormat.of().formatHex(IssuerAuthenticator.sha256(ISSUER_SECRET))));
    lines.addAll(List.of(
        "authz:",
        "  control_plane: 127.0.0.1:" + cpPort,
        "  replica_id: replica-0",
        "  clock_skew: 5s",
        "  max_staleness: 1m"));
    settings.authzYaml().forEach(l -> lines.add("  " + l));
    lines.addAll(List.of(
        "scopes:",
        "  llm:complete:",
        "    methods: [POST]",
        "    paths: [/v1/chat/completions]",
        "  llm:embed:",
        "    methods: [POST]",
        "    paths: [/v1/embeddings]",
        "upstreams:",
        "  openai:",
        "    provider: openai",
        "    api_key_file: openai.key",
        ""));
    return String.join("\n", lines);
  }

  /** Starts (or restarts) replica {@code i} on its port and waits for its first snapshot. */
  void startReplica(int i) {
    if (settings.ownProcess().contains(i)) {
      startReplicaProcess(pairs.get(i));
      return;
    }
    Pair pair = pairs.get(i);
    AuthzConfig b = authzBase;
    AuthzConfig config = new AuthzConfig(b.host(), pair.authzPort, b.controlPlane(),
        pair.replicaId, b.clockSkew(), b.maxStaleness(), b.maxBodyBytes(), b.maxJsonDepth(),
        b.tokenCacheSize(), b.scopes(), b.upstreams()).withBudget(b.budget());
    // The port was just released by a stopped replica: binding may need a moment.
    RuntimeException last = null;
    Instant deadline = Instant.now().plusSeconds(20);
    while (pair.authz == null && Instant.now().isBefore(deadline)) {
      try {
        pair.authz = AuthzServer.start(config, Clock.systemUTC(), name -> null,
            (request, decision, nanos) -> { });
      } catch (UncheckedIOException e) {
        last = e;
        Thread.onSpinWait();
      }
    }
    if (pair.authz == null) {
      throw new IllegalStateException("replica " + pair.replicaId + " could not bind", last);
    }
    AuthzServer started = pair.authz;
    await("replica " + pair.replicaId + " synced", Duration.ofSeconds(20), started::ready);
  }

  /**
   * Runs the replica as {@code perishable authz} in a JVM of its own (this one's class path)
   * and waits until its health service says SERVING (its first snapshot has arrived).
   */
  private void startReplicaProcess(Pair pair) {
    Path log = data.resolve("authz-" + pair.replicaId + ".log");
    try {
      pair.process = new ProcessBuilder(
          Path.of(System.getProperty("java.home"), "bin", "java").toString(),
          "-cp", System.getProperty("java.class.path"),
          "io.perishable.cli.PerishableCommand", "authz", "--config", configFile.toString(),
          "--port", String.valueOf(pair.authzPort), "--replica-id", pair.replicaId,
          "--metrics-port", "-1")
          .redirectErrorStream(true).redirectOutput(log.toFile()).start();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", pair.authzPort)
        .usePlaintext().build();
    try {
      Process process = pair.process;
      await("replica " + pair.replicaId + " (own process) serving", Duration.ofSeconds(60),
          () -> {
            if (!process.isAlive()) {
              throw new AssertionError("replica " + pair.replicaId + " exited: " + read(log));
            }
            try {
              return HealthGrpc.newBlockingStub(channel).withDeadlineAfter(2, TimeUnit.SECONDS)
                  .check(HealthCheckRequest.getDefaultInstance()).getStatus()
                  == HealthCheckResponse.ServingStatus.SERVING;
            } catch (StatusRuntimeException notYet) {
              return false;
            }
          });
    } finally {
      channel.shutdownNow();
    }
  }

  /** SIGKILLs replica {@code i}, which must run as its own process; its Envoy stays up. */
  void killReplica(int i) {
    Process process = pairs.get(i).process;
    if (process == null) {
      throw new IllegalStateException("replica " + i + " does not run as its own process");
    }
    process.destroyForcibly(); // SIGKILL: no shutdown hook, no lease returned
    try {
      if (!process.waitFor(30, TimeUnit.SECONDS)) {
        throw new AssertionError("replica " + i + " survived SIGKILL");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
    pairs.get(i).process = null;
  }

  private static String read(Path log) {
    try {
      return Files.readString(log);
    } catch (IOException e) {
      return "(log unreadable: " + e + ")";
    }
  }

  /** Stops replica {@code i}; its Envoy stays up (and answers 503 until it is back). */
  void stopReplica(int i) {
    Pair pair = pairs.get(i);
    pair.authz.close();
    pair.authz = null;
    await("control plane forgot " + pair.replicaId, Duration.ofSeconds(20),
        () -> controlPlane.syncHub().replicas().stream()
            .noneMatch(r -> r.replicaId().equals(pair.replicaId)));
  }

  private void startEnvoy(Pair pair) throws IOException {
    pair.envoyPort = LoopbackPorts.freePort();
    int adminPort = LoopbackPorts.freePort();
    Path config = data.resolve("envoy-" + pair.replicaId + ".yaml");
    EnvoyConfig.load(EnvoyBinary.repoRoot().resolve("envoy/dev.yaml"))
        .withAdminPort(adminPort)
        .withListenerPort("llm_ingress", pair.envoyPort)
        .withClusterEndpoint("perishable_authz", "127.0.0.1", pair.authzPort)
        .withClusterEndpoint("perishable_control_plane", "127.0.0.1", controlPlane.port())
        .withClusterEndpoint("upstream_openai", "127.0.0.1", fakeLlm.port())
        .withClusterEndpoint("upstream_anthropic", "127.0.0.1", fakeLlm.port())
        .write(config);
    pair.envoy = EnvoyProcess.start(EnvoyBinary.locate(EnvoyBinary.repoRoot()), config,
        adminPort, data.resolve("envoy-" + pair.replicaId + ".log"));
  }

  /**
   * Stops the control plane and starts it again on the same port and data_dir (it rebuilds its
   * state from the audit log); replicas and Envoys stay up and reconnect.
   */
  void restartControlPlane() {
    controlPlane.close();
    controlPlane = null;
    // The port was just released: binding may need a moment.
    RuntimeException last = null;
    Instant deadline = Instant.now().plusSeconds(20);
    while (controlPlane == null && Instant.now().isBefore(deadline)) {
      try {
        controlPlane = ControlPlaneServer.start(config.controlPlane(), Clock.systemUTC());
      } catch (UncheckedIOException e) {
        last = e;
        Thread.onSpinWait();
      }
    }
    if (controlPlane == null) {
      throw new IllegalStateException("the control plane could not bind again", last);
    }
  }

  int replicas() {
    return pairs.size();
  }

  List<String> replicaIds() {
    return pairs.stream().map(p -> p.replicaId).toList();
  }

  ControlPlaneServer controlPlane() {
    return controlPlane;
  }

  FakeLlmUpstream fakeLlm() {
    return fakeLlm;
  }

  /** TokenService; {@code issuerSecret} null sends no credentials. */
  TokenServiceGrpc.TokenServiceBlockingStub tokens(String issuerSecret) {
    TokenServiceGrpc.TokenServiceBlockingStub stub = TokenServiceGrpc
        .newBlockingStub(controlPlaneChannel).withDeadlineAfter(20, TimeUnit.SECONDS);
    return issuerSecret == null ? stub : Stack.withIssuerSecret(stub, issuerSecret);
  }

  TokenServiceGrpc.TokenServiceBlockingStub operator() {
    return tokens(ISSUER_SECRET);
  }

  /** BudgetService with the operator's issuer secret (GetUsage needs one). */
  BudgetServiceGrpc.BudgetServiceBlockingStub budgets() {
    return Stack.withIssuerSecret(BudgetServiceGrpc.newBlockingStub(controlPlaneChannel)
        .withDeadlineAfter(20, TimeUnit.SECONDS), ISSUER_SECRET);
  }

  /** The body {@link #chat} sends: a request's worst case is its size in bytes + 16. */
  static final String CHAT_BODY = "{\"model\":\"gpt-4o-mini\",\"max_tokens\":16,"
      + "\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}";

  /** A chat completion through pair {@code i}'s Envoy. */
  HttpResponse<String> chat(int i, String token) {
    return chat(i, token, Map.of());
  }

  /** A chat completion through pair {@code i}'s Envoy, with extra request headers. */
  HttpResponse<String> chat(int i, String token, Map<String, String> headers) {
    return chat(i, token, CHAT_BODY, headers);
  }

  /** A chat completion with {@code body} through pair {@code i}'s Envoy. */
  HttpResponse<String> chat(int i, String token, String body, Map<String, String> headers) {
    HttpRequest.Builder builder = HttpRequest.newBuilder(
            URI.create("http://127.0.0.1:" + pairs.get(i).envoyPort + "/v1/chat/completions"))
        .timeout(Duration.ofSeconds(60))
        .header("content-type", "application/json")
        .header("authorization", "Bearer " + token)
        .POST(HttpRequest.BodyPublishers.ofString(body));
    headers.forEach(builder::header);
    HttpRequest request = builder.build();
    try {
      return http.send(request, HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  static JsonNode json(String body) {
    try {
      return JSON.readTree(body);
    } catch (IOException e) {
      throw new AssertionError("not JSON: " + body, e);
    }
  }

  /** Polls {@code condition} until it holds; fails after {@code timeout}. Never sleeps blind. */
  static void await(String what, Duration timeout, BooleanSupplier condition) {
    Instant deadline = Instant.now().plus(timeout);
    while (!condition.getAsBoolean()) {
      if (Instant.now().isAfter(deadline)) {
        throw new AssertionError("timed out after " + timeout.toSeconds() + "s waiting for: "
            + what);
      }
      Thread.onSpinWait();
      try {
        // A short park between polls keeps the loop from hogging a core; the condition, not
        // the pause, decides when to go on.
        Thread.sleep(5);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted waiting for: " + what);
      }
    }
  }

  @Override
  public void close() {
    for (Pair pair : pairs) {
      if (pair.envoy != null) {
        pair.envoy.close();
      }
      if (pair.authz != null) {
        pair.authz.close();
      }
      if (pair.process != null) {
        pair.process.destroyForcibly();
      }
    }
    if (controlPlaneChannel != null) {
      controlPlaneChannel.shutdownNow();
    }
    close(fakeLlm, controlPlane);
  }

  private static void close(FakeLlmUpstream llm, ControlPlaneServer cp) {
    if (cp != null) {
      cp.close();
    }
    if (llm != null) {
      llm.close();
    }
  }
}
