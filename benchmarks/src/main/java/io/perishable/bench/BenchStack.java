package io.perishable.bench;

import com.google.protobuf.Duration;
import io.envoyproxy.envoy.service.auth.v3.AuthorizationGrpc;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.perishable.authz.AuthzServer;
import io.perishable.authz.config.AuthzConfig;
import io.perishable.cli.config.ConfigFile;
import io.perishable.cli.stack.EnvoyBinary;
import io.perishable.cli.stack.EnvoyConfig;
import io.perishable.cli.stack.EnvoyProcess;
import io.perishable.cli.stack.LocalStack;
import io.perishable.cli.stack.LoopbackPorts;
import io.perishable.proto.v1.IssueRequest;
import io.perishable.proto.v1.TokenServiceGrpc;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Everything the load generators talk to, on loopback:
 *
 * <ul>
 *   <li>the {@link LocalStack}: fake LLM upstream, control plane, authz-service and Envoy from
 *       the shipped {@code envoy/dev.yaml} (ext_authz in front);
 *   <li>"Envoy alone": a second Envoy from the same file without the ext_authz filter, routed
 *       to the same fake upstream;
 *   <li>an {@link EmptyAuthorizationServer} beside authz-service, the Check RPC's physical limit,
 *       and a third Envoy from the same file whose ext_authz calls it: what ext_authz costs
 *       before perishable does anything;
 *   <li>"Envoy + ext_authz without metering": a fourth Envoy from the same file calling the same
 *       authz-service, its access log to the same control plane, but without the ext_proc
 *       filter: row 1's "Envoy + ext_authz", and beside the stack's Envoy, what usage metering
 *       costs (rows 1b and 6);
 *   <li>{@value #EXTRA_REPLICAS} more authz-service replicas on the same control plane (no
 *       Envoy in front, and no decision reports to the audit trail), so a revocation has
 *       {@value #EXTRA_REPLICAS} + 1 replicas to reach, and the Check can be measured without
 *       the audit trail's share.
 * </ul>
 *
 * <p>It issues one token through the control plane, like an agent would. The fake upstream
 * records every request it receives; a background task forgets them every second so a long run
 * does not fill the heap it shares with authz-service.
 */
public final class BenchStack implements AutoCloseable {
  /** The ext_authz filter's name in the shipped Envoy configs. */
  static final String EXT_AUTHZ_FILTER = "envoy.filters.http.ext_authz";
  /** Usage metering: served by authz-service only, so off wherever authz-service is not. */
  static final String EXT_PROC_FILTER = "envoy.filters.http.ext_proc";

  /** authz-service replicas besides the stack's own. */
  static final int EXTRA_REPLICAS = 3;

  private final List<AutoCloseable> started;
  private final LocalStack stack;
  private final Envoy envoyAlone;
  private final Envoy envoyEmptyAuthz;
  private final Envoy envoyUnmetered;
  private final EmptyAuthorizationServer empty;
  private final DecisionCounter decisions;
  private final BenchRequest request;
  private final List<AuthzServer> extraReplicas;
  private final ManagedChannel controlPlane;

  /** An Envoy process and the listener port it serves on. */
  private record Envoy(EnvoyProcess process, int port) {}

  private BenchStack(List<AutoCloseable> started, LocalStack stack, Envoy envoyAlone,
      Envoy envoyEmptyAuthz, Envoy envoyUnmetered, EmptyAuthorizationServer empty,
      DecisionCounter decisions, BenchRequest request, List<AuthzServer> extraReplicas,
      ManagedChannel controlPlane) {
    this.started = started;
    this.stack = stack;
    this.envoyAlone = envoyAlone;
    this.envoyEmptyAuthz = envoyEmptyAuthz;
    this.envoyUnmetered = envoyUnmetered;
    this.empty = empty;
    this.decisions = decisions;
    this.request = request;
    this.extraReplicas = extraReplicas;
    this.controlPlane = controlPlane;
  }

  /** Starts everything (or nothing: what started is stopped again on failure). */
  public static BenchStack start(Path repoRoot, Path dataDir) {
    DecisionCounter decisions = new DecisionCounter();
    List<AutoCloseable> started = new ArrayList<>();
    try {
      // An empty environment: the benchmark always runs against the fake upstream.
      LocalStack stack = LocalStack.start(new LocalStack.Options(repoRoot,
          dataDir.resolve("stack"), Map.of(), 0, 0, 0, 0, 0, Clock.systemUTC(),
          Clock.systemUTC(), decisions));
      started.add(stack);
      EmptyAuthorizationServer empty = EmptyAuthorizationServer.start(0, 9 * 1024 * 1024);
      started.add(empty);
      int fakePort = stack.fakeLlm().port();
      Envoy alone = startEnvoy(repoRoot, dataDir, "envoy-alone", started,
          (port, admin) -> envoyAloneConfig(repoRoot, port, admin, stack.authzPort(), fakePort));
      Envoy emptyAuthz = startEnvoy(repoRoot, dataDir, "envoy-empty-authz", started,
          (port, admin) -> envoyConfig(repoRoot, port, admin, empty.port(), fakePort)
              .withoutHttpFilter(EXT_PROC_FILTER));
      Envoy unmetered = startEnvoy(repoRoot, dataDir, "envoy-authz-unmetered", started,
          (port, admin) -> envoyConfig(repoRoot, port, admin, stack.authzPort(), fakePort)
              .withClusterEndpoint("perishable_control_plane", "127.0.0.1",
                  stack.controlPlanePort())
              .withoutHttpFilter(EXT_PROC_FILTER));
      ScheduledExecutorService cleaner = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "bench-journal-cleaner");
        t.setDaemon(true);
        return t;
      });
      started.add(cleaner::shutdownNow);
      cleaner.scheduleAtFixedRate(stack.fakeLlm()::clear, 1, 1, TimeUnit.SECONDS);
      List<AuthzServer> replicas = startReplicas(stack, started, decisions);
      ManagedChannel controlPlane =
          NettyChannelBuilder.forTarget(stack.controlPlaneTarget()).usePlaintext().build();
      started.add(controlPlane::shutdownNow);
      BenchRequest request = new BenchRequest(issueToken(operator(controlPlane, stack)));
      return new BenchStack(started, stack, alone, emptyAuthz, unmetered, empty, decisions,
          request, replicas, controlPlane);
    } catch (IOException e) {
      closeAll(started);
      throw new UncheckedIOException(e);
    } catch (RuntimeException e) {
      closeAll(started);
      throw e;
    }
  }

  @FunctionalInterface
  private interface ConfigForPorts {
    EnvoyConfig make(int port, int adminPort) throws IOException;
  }

  private static Envoy startEnvoy(Path repoRoot, Path dataDir, String name,
      List<AutoCloseable> started, ConfigForPorts config) throws IOException {
    int port = LoopbackPorts.freePort();
    int adminPort = LoopbackPorts.freePort();
    Path file = dataDir.resolve(name + ".yaml");
    config.make(port, adminPort).write(file);
    EnvoyProcess process = EnvoyProcess.start(EnvoyBinary.locate(repoRoot), file, adminPort,
        dataDir.resolve(name + ".log"));
    started.add(process);
    return new Envoy(process, port);
  }

  /** The shipped dev config, its ext_authz calling {@code authzPort}. */
  static EnvoyConfig envoyConfig(Path repoRoot, int port, int adminPort, int authzPort,
      int fakeLlmPort) throws IOException {
    return EnvoyConfig.load(repoRoot.resolve("envoy/dev.yaml"))
        .withAdminPort(adminPort)
        .withListenerPort("llm_ingress", port)
        .withClusterEndpoint("perishable_authz", "127.0.0.1", authzPort)
        // No audit sink in the benchmark: the access log goes to a port nobody listens on
        // (never the default 7400, where a developer's stack may run).
        .withClusterEndpoint("perishable_control_plane", "127.0.0.1", LoopbackPorts.freePort())
        .withClusterEndpoint("upstream_openai", "127.0.0.1", fakeLlmPort)
        .withClusterEndpoint("upstream_anthropic", "127.0.0.1", fakeLlmPort);
  }

  /**
   * The shipped dev config without ext_authz and usage metering: same listener, buffer filter,
   * routes, access log and clusters. Nobody sets the routing header here, so the client sends it (see {@link
   * BenchRequest#headersWithoutAuthz}).
   */
  static EnvoyConfig envoyAloneConfig(Path repoRoot, int port, int adminPort, int authzPort,
      int fakeLlmPort) throws IOException {
    return envoyConfig(repoRoot, port, adminPort, authzPort, fakeLlmPort)
        .withoutHttpFilter(EXT_AUTHZ_FILTER)
        .withoutHttpFilter(EXT_PROC_FILTER);
  }

  /** The stack's authz configuration on an ephemeral port, as replica {@code bench-replica-i}. */
  private static List<AuthzServer> startReplicas(LocalStack stack, List<AutoCloseable> started,
      DecisionCounter decisions) {
    AuthzConfig base = ConfigFile.load(stack.configFile()).authz();
    List<AuthzServer> replicas = new ArrayList<>();
    for (int i = 1; i <= EXTRA_REPLICAS; i++) {
      AuthzServer replica = AuthzServer.start(base.withPort(0).withMetricsPort(-1)
          .withReplicaId("bench-replica-" + i), Clock.systemUTC(), name -> null, decisions);
      started.add(replica);
      replicas.add(replica);
    }
    Instant deadline = Instant.now().plusSeconds(20);
    while (!replicas.stream().allMatch(AuthzServer::ready)) {
      if (Instant.now().isAfter(deadline)) {
        throw new IllegalStateException("extra authz-service replicas did not sync in 20 s");
      }
      // A short pause between polls; the condition decides when to go on.
      LockSupport.parkNanos(5_000_000);
    }
    return replicas;
  }

  /** TokenService with the issuer secret, as an operator or agent platform calls it. */
  private static TokenServiceGrpc.TokenServiceBlockingStub operator(ManagedChannel channel,
      LocalStack stack) {
    Metadata headers = new Metadata();
    headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER),
        "Bearer " + stack.issuerSecret());
    return TokenServiceGrpc.newBlockingStub(channel)
        .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));
  }

  private static String issueToken(TokenServiceGrpc.TokenServiceBlockingStub operator) {
    return operator.withDeadlineAfter(10, TimeUnit.SECONDS)
        .issue(issueRequest(3600))
        .getToken();
  }

  /**
   * What the benchmark issues: the grant its request needs, for {@code ttlSeconds} (for the
   * benchmark's own token, longer than any run, so it stays valid and cached throughout).
   */
  static IssueRequest issueRequest(long ttlSeconds) {
    return IssueRequest.newBuilder()
        .setAgentId("bench")
        .addScopes("llm:complete")
        .addModels(ChatBodies.MODEL)
        .setMaxTokensPerRequest(256)
        .setTtl(Duration.newBuilder().setSeconds(ttlSeconds))
        .build();
  }

  /** TokenService on the stack's control plane, with the issuer secret. */
  public TokenServiceGrpc.TokenServiceBlockingStub operator() {
    return operator(controlPlane, stack);
  }

  /** The control plane's gRPC target. */
  public String controlPlaneTarget() {
    return stack.controlPlaneTarget();
  }

  /** The issuer secret of this throwaway stack (secret: for ghz's metadata file only). */
  String issuerSecret() {
    return stack.issuerSecret();
  }

  /**
   * An extra replica's Check: authz-service as configured for the benchmark, but without
   * decision reports (nothing spooled, sent or recorded per decision).
   */
  public String replicaWithoutReportsTarget() {
    return "127.0.0.1:" + extraReplicas.get(0).port();
  }

  /** Check targets of every authz-service replica: the stack's first, then the extra ones. */
  public List<String> replicaTargets() {
    List<String> targets = new ArrayList<>(List.of(authzTarget()));
    extraReplicas.forEach(r -> targets.add("127.0.0.1:" + r.port()));
    return targets;
  }

  /**
   * Sends the benchmark request once through each Envoy and the Check once to each gRPC server,
   * and fails unless every one of them succeeds (200 from the fake upstream; an allow from
   * authz-service; OK from the empty handler). Run before any load, so a broken fixture fails
   * fast instead of measuring error pages.
   *
   * @throws IllegalStateException naming what did not work
   */
  public void selfCheck() {
    expect200("Envoy with ext_authz", envoyUrl(), request.headersWithToken());
    expect200("Envoy alone", envoyAloneUrl(),
        BenchRequest.headersWithoutAuthz(stack.openAiKey(), "openai"));
    expect200("Envoy with ext_authz calling the empty handler", envoyEmptyAuthzUrl(),
        BenchRequest.headersWithoutAuthz(stack.openAiKey(), "openai"));
    expect200("Envoy with ext_authz, without ext_proc", envoyUnmeteredUrl(),
        request.headersWithToken());
    expectStream("Envoy with ext_authz, without ext_proc (streamed)", envoyUnmeteredUrl());
    expectStream("Envoy with ext_authz and ext_proc (streamed)", envoyUrl());
    expectCheckOk("authz-service", stack.authzPort());
    expectCheckOk("empty Authorization handler", empty.port());
    if (decisions.denied() > 0) {
      throw new IllegalStateException("authz-service denied the benchmark request: "
          + decisions.lastDenial());
    }
  }

  private void expect200(String what, URI url, Map<String, String> headers) {
    HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    HttpRequest.Builder post = HttpRequest.newBuilder(url)
        .timeout(java.time.Duration.ofSeconds(10))
        .POST(HttpRequest.BodyPublishers.ofByteArray(request.body()));
    headers.forEach(post::header);
    HttpResponse<String> response;
    try {
      response = http.send(post.build(), HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new IllegalStateException(what + ": request failed: " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(what + ": interrupted", e);
    }
    if (response.statusCode() != 200 || !response.body().contains("\"choices\"")) {
      throw new IllegalStateException(what + " answered " + response.statusCode() + " "
          + response.body() + " (expected 200 with a chat completion)");
    }
  }

  /** A streamed chat completion: 200, server-sent events ending with the usage and [DONE]. */
  private void expectStream(String what, URI url) {
    HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    HttpRequest.Builder post = HttpRequest.newBuilder(url)
        .timeout(java.time.Duration.ofSeconds(10))
        .POST(HttpRequest.BodyPublishers.ofByteArray(request.streamedBody()));
    request.headersWithToken().forEach(post::header);
    HttpResponse<String> response;
    try {
      response = http.send(post.build(), HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new IllegalStateException(what + ": request failed: " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(what + ": interrupted", e);
    }
    if (response.statusCode() != 200
        || !response.headers().firstValue("content-type").orElse("")
            .startsWith("text/event-stream")
        || !response.body().contains("\"usage\"") || !response.body().contains("data: [DONE]")) {
      throw new IllegalStateException(what + " answered " + response.statusCode() + " "
          + response.body() + " (expected 200 with server-sent events, usage and [DONE])");
    }
  }

  private void expectCheckOk(String what, int port) {
    ManagedChannel channel =
        NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
    try {
      CheckResponse response = AuthorizationGrpc.newBlockingStub(channel)
          .withDeadlineAfter(10, TimeUnit.SECONDS)
          .check(request.checkRequest());
      if (response.getStatus().getCode() != 0) {
        throw new IllegalStateException(what + " did not allow the benchmark Check: "
            + response.getDeniedResponse().getBody());
      }
    } finally {
      channel.shutdownNow();
    }
  }

  public BenchRequest request() {
    return request;
  }

  /** Envoy with ext_authz (the shipped config), at the benchmark path. */
  public URI envoyUrl() {
    return URI.create(stack.envoyUrl() + BenchRequest.PATH);
  }

  /** Envoy without ext_authz, at the benchmark path. */
  public URI envoyAloneUrl() {
    return URI.create("http://127.0.0.1:" + envoyAlone.port() + BenchRequest.PATH);
  }

  /**
   * Envoy whose ext_authz calls the empty handler, at the benchmark path. The handler sets no
   * header, so requests need what {@link BenchRequest#headersWithoutAuthz} adds.
   */
  public URI envoyEmptyAuthzUrl() {
    return URI.create("http://127.0.0.1:" + envoyEmptyAuthz.port() + BenchRequest.PATH);
  }

  /**
   * Envoy with ext_authz calling authz-service, like {@link #envoyUrl()}, but without the
   * ext_proc filter (no usage metering), at the benchmark path.
   */
  public URI envoyUnmeteredUrl() {
    return URI.create("http://127.0.0.1:" + envoyUnmetered.port() + BenchRequest.PATH);
  }

  /** Responses authz-service metered so far, by scraping its metrics (any outcome). */
  long meteredResponses() {
    HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    try {
      String text = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
          + stack.authz().metricsPort() + "/metrics")).build(),
          HttpResponse.BodyHandlers.ofString()).body();
      return text.lines().filter(l -> l.startsWith("perishable_authz_metered_responses_total{"))
          .mapToLong(l -> (long) Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1)))
          .sum();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  /** The fake upstream's OpenAI key: what Envoy alone must be sent. Secret. */
  public String providerKey() {
    return stack.openAiKey();
  }

  public String authzTarget() {
    return "127.0.0.1:" + stack.authzPort();
  }

  public String emptyAuthzTarget() {
    return "127.0.0.1:" + empty.port();
  }

  /**
   * CPU time used so far (user + system) by each process a request goes through; the
   * difference across a run, divided by its requests, is CPU per request.
   *
   * @param jvm this JVM: authz-service, the control plane and the fake upstream
   */
  public record CpuTimes(java.time.Duration envoyAlone, java.time.Duration envoyEmptyAuthz,
      java.time.Duration envoyWithAuthz, java.time.Duration envoyUnmetered,
      java.time.Duration jvm) {}

  public CpuTimes cpuTimes() {
    return new CpuTimes(cpu(ProcessHandle.of(envoyAlone.process().pid())),
        cpu(ProcessHandle.of(envoyEmptyAuthz.process().pid())),
        cpu(ProcessHandle.of(stack.envoy().pid())),
        cpu(ProcessHandle.of(envoyUnmetered.process().pid())),
        cpu(Optional.of(ProcessHandle.current())));
  }

  private static java.time.Duration cpu(Optional<ProcessHandle> process) {
    return process.flatMap(p -> p.info().totalCpuDuration()).orElse(java.time.Duration.ZERO);
  }

  long allowed() {
    return decisions.allowed();
  }

  long denied() {
    return decisions.denied();
  }

  String lastDenial() {
    return decisions.lastDenial();
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
