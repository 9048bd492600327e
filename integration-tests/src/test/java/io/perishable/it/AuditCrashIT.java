package io.perishable.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.perishable.authz.AuthzServer;
import io.perishable.cli.config.ConfigFile;
import io.perishable.cli.stack.EnvoyBinary;
import io.perishable.cli.stack.EnvoyConfig;
import io.perishable.cli.stack.EnvoyProcess;
import io.perishable.cli.stack.LoopbackPorts;
import io.perishable.controlplane.audit.AuditVerifier;
import io.perishable.controlplane.audit.CheckpointKeys;
import io.perishable.controlplane.issuer.IssuerAuthenticator;
import io.perishable.fakellm.FakeLlmUpstream;
import io.perishable.proto.v1.IssueRequest;
import io.perishable.proto.v1.IssueResponse;
import io.perishable.proto.v1.RevokeRequest;
import io.perishable.proto.v1.RevokeResponse;
import io.perishable.proto.v1.TokenServiceGrpc;
import java.io.IOException;
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
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The audit log survives {@code kill -9}: a control plane running as its own JVM is killed while
 * a client issues and revokes in a loop; after a restart every acknowledged Issue and Revoke is
 * in the log, the chain verifies with the checkpoint key, and every acknowledged revocation is
 * still enforced by a replica behind real Envoy.
 */
class AuditCrashIT {
  private static final String SECRET = "pis_crash-it-0123456789abcdef";
  private static final String OPENAI_KEY = "sk-fake-openai-crash-it";
  private final HttpClient http = HttpClient.newBuilder()
      .version(HttpClient.Version.HTTP_1_1).build();

  private static String yaml(int cpPort, int authzPort) {
    return String.join("\n",
        "control_plane:",
        "  port: " + cpPort,
        "  metrics_port: 0",
        "  data_dir: control-plane",
        "  heartbeat_interval: 200ms",
        "  shutdown_grace: 5s",
        "  audit:",
        "    checkpoint_interval: 500ms",
        "  issuers:",
        "    - id: crash-it",
        "      secret_sha256: " + HexFormat.of().formatHex(IssuerAuthenticator.sha256(SECRET)),
        "authz:",
        "  port: " + authzPort,
        "  metrics_port: -1",
        "  control_plane: 127.0.0.1:" + cpPort,
        "  replica_id: crash-replica",
        "  clock_skew: 5s",
        "  max_staleness: 1m",
        "scopes:",
        "  llm:complete:",
        "    methods: [POST]",
        "    paths: [/v1/chat/completions]",
        "upstreams:",
        "  openai:",
        "    provider: openai",
        "    api_key_file: openai.key",
        "");
  }

  /** Acknowledged token: its id and the bearer token the client holds. */
  private record Acked(String tokenId, String token) {}

  @Test
  void killMinus9_everyAcknowledgedIssueAndRevokeSurvives() throws Exception {
    Path root = Path.of("target", "it-data");
    Files.createDirectories(root);
    Path data = Files.createTempDirectory(root, "crash-").toAbsolutePath();
    Files.writeString(data.resolve("openai.key"), OPENAI_KEY + "\n", StandardCharsets.UTF_8);
    int cpPort = LoopbackPorts.freePort();
    int authzPort = LoopbackPorts.freePort();
    Path config = data.resolve("perishable.yaml");
    Files.writeString(config, yaml(cpPort, authzPort), StandardCharsets.UTF_8);

    List<Acked> issued = new CopyOnWriteArrayList<>();
    Map<String, String> revokedRuleByToken = new ConcurrentHashMap<>();
    // A Revoke in flight at the kill may have been recorded without being acknowledged.
    Set<String> revokeAttempted = ConcurrentHashMap.newKeySet();
    Process first = startControlPlane(config, data.resolve("cp-1.log"));
    ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", cpPort)
        .usePlaintext().build();
    try {
      awaitServing(first, channel, data.resolve("cp-1.log"));
      AtomicBoolean stop = new AtomicBoolean();
      Thread client = new Thread(
          () -> loop(channel, issued, revokedRuleByToken, revokeAttempted, stop),
          "crash-it-client");
      client.start();
      ReplicatedStack.await("60 acknowledged issues", Duration.ofSeconds(60),
          () -> issued.size() >= 60);
      first.destroyForcibly(); // SIGKILL, mid-loop
      assertTrue(first.waitFor(30, TimeUnit.SECONDS));
      stop.set(true);
      client.join(30_000);
    } finally {
      channel.shutdownNow();
    }
    assertTrue(revokedRuleByToken.size() >= 10, "revocations acknowledged before the kill");

    Process second = startControlPlane(config, data.resolve("cp-2.log"));
    ManagedChannel channel2 = NettyChannelBuilder.forAddress("127.0.0.1", cpPort)
        .usePlaintext().build();
    FakeLlmUpstream llm = FakeLlmUpstream.start(0, OPENAI_KEY, null);
    AuthzServer authz = null;
    EnvoyProcess envoy = null;
    try {
      if (!awaitServing(second, channel2, data.resolve("cp-2.log"))) {
        // A batch torn by the kill leaves a partial last line: start as an operator would.
        String log = Files.readString(data.resolve("cp-2.log"));
        assertEquals(3, second.exitValue(), log);
        assertTrue(log.contains("audit log is damaged at seq"), log);
        second = startControlPlane(config, data.resolve("cp-3.log"),
            "--quarantine-damaged-tail");
        assertTrue(awaitServing(second, channel2, data.resolve("cp-3.log")));
      }
      authz = AuthzServer.start(ConfigFile.load(config).authz(), Clock.systemUTC(),
          name -> null, (request, decision, nanos) -> { });
      AuthzServer started = authz;
      ReplicatedStack.await("replica synced", Duration.ofSeconds(20), started::ready);
      int envoyPort = LoopbackPorts.freePort();
      int adminPort = LoopbackPorts.freePort();
      Path envoyConfig = data.resolve("envoy.yaml");
      EnvoyConfig.load(EnvoyBinary.repoRoot().resolve("envoy/dev.yaml"))
          .withAdminPort(adminPort)
          .withListenerPort("llm_ingress", envoyPort)
          .withClusterEndpoint("perishable_authz", "127.0.0.1", authzPort)
          // Envoy's access log goes to this test's control plane, never a default port.
          .withClusterEndpoint("perishable_control_plane", "127.0.0.1", cpPort)
          .withClusterEndpoint("upstream_openai", "127.0.0.1", llm.port())
          .withClusterEndpoint("upstream_anthropic", "127.0.0.1", llm.port())
          .write(envoyConfig);
      envoy = EnvoyProcess.start(EnvoyBinary.locate(EnvoyBinary.repoRoot()), envoyConfig,
          adminPort, data.resolve("envoy.log"));

      for (Acked t : issued) {
        HttpResponse<String> r = chat(envoyPort, t.token());
        if (revokedRuleByToken.containsKey(t.tokenId())) {
          assertEquals(401, r.statusCode(), "revoked token " + t.tokenId() + ": " + r.body());
          assertEquals("token_revoked",
              ReplicatedStack.json(r.body()).at("/error/code").asText());
        } else if (!revokeAttempted.contains(t.tokenId())) {
          assertEquals(200, r.statusCode(), "live token " + t.tokenId() + ": " + r.body());
        }
      }
    } finally {
      if (envoy != null) {
        envoy.close();
      }
      if (authz != null) {
        authz.close();
      }
      llm.close();
      channel2.shutdownNow();
      second.destroy(); // SIGTERM: a clean shutdown writes a final checkpoint
      second.waitFor(30, TimeUnit.SECONDS);
    }

    String log = readLog(data.resolve("control-plane/audit"));
    for (Acked t : issued) {
      assertTrue(log.contains("\"type\":\"issued\",\"token_id\":\"" + t.tokenId() + "\""),
          "acknowledged issue of " + t.tokenId() + " is not in the log");
    }
    for (Map.Entry<String, String> e : revokedRuleByToken.entrySet()) {
      assertTrue(log.contains("\"rule_id\":\"" + e.getValue() + "\""),
          "acknowledged revocation " + e.getValue() + " is not in the log");
    }
    assertTrue(!log.contains("prs_"), "a token reached the audit log");
    List<byte[]> keys = new ArrayList<>(CheckpointKeys.open(data.resolve("control-plane"),
        Clock.systemUTC()).publicKeys().values());
    AuditVerifier.Report report = AuditVerifier.trusting(keys)
        .verifyLog(data.resolve("control-plane/audit"));
    assertTrue(report.ok(), report.toString());
  }

  /** Issues, and revokes every third token by id, until stopped or the server is gone. */
  private static void loop(ManagedChannel channel, List<Acked> issued,
      Map<String, String> revoked, Set<String> attempted, AtomicBoolean stop) {
    Metadata headers = new Metadata();
    headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER),
        "Bearer " + SECRET);
    var stub = TokenServiceGrpc.newBlockingStub(channel)
        .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));
    for (int i = 0; !stop.get(); i++) {
      try {
        IssueResponse r = stub.withDeadlineAfter(10, TimeUnit.SECONDS).issue(IssueRequest
            .newBuilder().setAgentId("crash-agent-" + (i % 5)).addScopes("llm:complete")
            .addModels("gpt-4o-mini").build());
        issued.add(new Acked(r.getTokenId(), r.getToken()));
        if (i % 3 == 2) {
          String victim = issued.get(issued.size() - 2).tokenId();
          attempted.add(victim);
          RevokeResponse rr = stub.withDeadlineAfter(10, TimeUnit.SECONDS).revoke(RevokeRequest
              .newBuilder().setTokenId(victim).setReason("crash-it").setSkipReplicaAck(true)
              .build());
          revoked.put(victim, rr.getRuleId());
        }
      } catch (StatusRuntimeException e) {
        return; // the control plane was killed: whatever was in flight is unacknowledged
      }
    }
  }

  private static Process startControlPlane(Path config, Path log, String... extra)
      throws IOException {
    List<String> command = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"),
        "io.perishable.cli.PerishableCommand", "control-plane", "--config", config.toString()));
    command.addAll(List.of(extra));
    return new ProcessBuilder(command).redirectErrorStream(true)
        .redirectOutput(log.toFile()).start();
  }

  /** True once the process answers Issue; false if it exits first. */
  private static boolean awaitServing(Process process, ManagedChannel channel, Path log)
      throws Exception {
    Metadata headers = new Metadata();
    headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER),
        "Bearer " + SECRET);
    var stub = TokenServiceGrpc.newBlockingStub(channel)
        .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));
    Instant deadline = Instant.now().plusSeconds(60);
    while (Instant.now().isBefore(deadline)) {
      if (!process.isAlive()) {
        return false;
      }
      try {
        stub.withDeadlineAfter(2, TimeUnit.SECONDS).listTokens(
            io.perishable.proto.v1.ListTokensRequest.newBuilder().setPageSize(1).build());
        return true;
      } catch (StatusRuntimeException notYet) {
        Thread.sleep(50);
      }
    }
    throw new AssertionError("control plane did not start within 60s:\n"
        + Files.readString(log));
  }

  private HttpResponse<String> chat(int envoyPort, String token) throws Exception {
    String body = "{\"model\":\"gpt-4o-mini\",\"max_tokens\":16,"
        + "\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}";
    return http.send(HttpRequest.newBuilder(
            URI.create("http://127.0.0.1:" + envoyPort + "/v1/chat/completions"))
        .timeout(Duration.ofSeconds(30))
        .header("content-type", "application/json")
        .header("authorization", "Bearer " + token)
        .POST(HttpRequest.BodyPublishers.ofString(body))
        .build(), HttpResponse.BodyHandlers.ofString());
  }

  private static String readLog(Path auditDir) throws IOException {
    StringBuilder all = new StringBuilder();
    try (Stream<Path> files = Files.list(auditDir)) {
      for (Path p : files.filter(f -> f.getFileName().toString().endsWith(".jsonl")).sorted()
          .toList()) {
        all.append(Files.readString(p));
      }
    }
    return all.toString();
  }
}
