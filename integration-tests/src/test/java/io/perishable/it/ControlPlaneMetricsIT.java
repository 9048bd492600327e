package io.perishable.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.perishable.cli.config.ConfigFile;
import io.perishable.cli.stack.EnvoyBinary;
import io.perishable.controlplane.ControlPlaneServer;
import io.perishable.controlplane.issuer.IssuerAuthenticator;
import io.perishable.proto.v1.IssueRequest;
import io.perishable.proto.v1.IssueResponse;
import io.perishable.proto.v1.RevokeRequest;
import io.perishable.proto.v1.TokenServiceGrpc;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.HexFormat;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The control plane's {@code /metrics}, scraped after real Issue and Revoke calls: every counter
 * moved exactly as the calls did, audit latencies were observed, and promtool accepts the
 * exposition.
 */
class ControlPlaneMetricsIT {
  private static final String SECRET = "pis_metrics-it-0123456789abcdef";

  private static String yaml() {
    return String.join("\n",
        "control_plane:",
        "  port: 0",
        "  metrics_port: 0",
        "  data_dir: control-plane",
        "  issuers:",
        "    - id: metrics-it",
        "      secret_sha256: " + HexFormat.of().formatHex(IssuerAuthenticator.sha256(SECRET)),
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
        "    api_key_env: OPENAI_API_KEY",
        "");
  }

  @Test
  void metrics_countIssuesRejectionsRevocationsAndAuditLatency() throws Exception {
    Path root = Path.of("target", "it-data");
    Files.createDirectories(root);
    Path data = Files.createTempDirectory(root, "cp-metrics-").toAbsolutePath();
    ControlPlaneServer cp = ControlPlaneServer.start(
        ConfigFile.parse(yaml(), data).controlPlane(), Clock.systemUTC());
    ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", cp.port())
        .usePlaintext().build();
    try {
      assertTrue(cp.metricsPort() > 0);
      String before = scrape(cp.metricsPort());
      Metadata headers = new Metadata();
      headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER),
          "Bearer " + SECRET);
      var stub = TokenServiceGrpc.newBlockingStub(channel)
          .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers))
          .withDeadlineAfter(20, TimeUnit.SECONDS);
      IssueResponse token = null;
      for (int i = 0; i < 3; i++) {
        token = stub.issue(IssueRequest.newBuilder().setAgentId("agent-" + i)
            .addScopes("llm:complete").addScopes("llm:embed").build());
      }
      stub.issue(IssueRequest.newBuilder().setAgentId("agent-9").addScopes("llm:complete")
          .build());
      StatusRuntimeException refused = assertThrows(StatusRuntimeException.class,
          () -> stub.issue(IssueRequest.newBuilder().setAgentId("agent-x")
              .addScopes("llm:nonexistent").build()));
      assertEquals(Status.Code.INVALID_ARGUMENT, refused.getStatus().getCode());
      stub.revoke(RevokeRequest.newBuilder().setAgentId("agent-0").setReason("test").build());
      stub.revoke(RevokeRequest.newBuilder().setTokenId(token.getTokenId()).build());

      String after = scrape(cp.metricsPort());
      assertEquals(4, delta(before, after,
          "perishable_tokens_issued_total{scope=\"llm:complete\"}"), after);
      assertEquals(3, delta(before, after,
          "perishable_tokens_issued_total{scope=\"llm:embed\"}"));
      assertEquals(1, delta(before, after,
          "perishable_issue_rejected_total{code=\"INVALID_ARGUMENT\"}"));
      assertEquals(1, delta(before, after,
          "perishable_revocations_total{selector=\"agent_id\"}"));
      assertEquals(1, delta(before, after,
          "perishable_revocations_total{selector=\"token_id\"}"));
      // 4 issued + 2 revoked records, each timed from append to durable.
      assertTrue(delta(before, after, "perishable_audit_append_duration_seconds_count") >= 6,
          after);
      assertTrue(metric(after, "perishable_audit_fsync_duration_seconds_count") >= 1);
      // agent-0's token and token 2 (agent-2) are revoked; agent-1 and agent-9 are live.
      assertEquals(2, metric(after, "perishable_live_tokens"));
      assertEquals(0, metric(after, "perishable_sync_replicas"));
      assertFalse(after.contains(token.getToken().substring(4, 24)), "token in metrics");
      promtoolCheck(after);
    } finally {
      channel.shutdownNow();
      cp.close();
    }
  }

  static String scrape(int port) throws IOException, InterruptedException {
    HttpResponse<String> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
            URI.create("http://127.0.0.1:" + port + "/metrics")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(200, response.statusCode());
    return response.body();
  }

  /** The value of the sample named exactly {@code series} (name plus labels), 0 if absent. */
  static double metric(String exposition, String series) {
    Matcher m = Pattern.compile("^" + Pattern.quote(series) + " (\\S+)$", Pattern.MULTILINE)
        .matcher(exposition);
    return m.find() ? Double.parseDouble(m.group(1)) : 0;
  }

  private static double delta(String before, String after, String series) {
    return metric(after, series) - metric(before, series);
  }

  /** Runs {@code promtool check metrics} on the exposition; fails with its complaints. */
  static void promtoolCheck(String exposition) throws IOException, InterruptedException {
    Process install = new ProcessBuilder(EnvoyBinary.repoRoot()
        .resolve("tools/install-promtool.sh").toString())
        .redirectError(ProcessBuilder.Redirect.DISCARD).start();
    String out;
    try (InputStream in = install.getInputStream()) {
      out = new String(in.readAllBytes(), StandardCharsets.UTF_8).strip();
    }
    assertTrue(install.waitFor(300, TimeUnit.SECONDS));
    assertEquals(0, install.exitValue(), "install-promtool.sh failed: " + out);
    String promtool = out.substring(out.lastIndexOf('\n') + 1);
    Path scraped = Files.createTempFile("control-plane-metrics", ".txt");
    Files.writeString(scraped, exposition);
    Process check = new ProcessBuilder(promtool, "check", "metrics")
        .redirectInput(scraped.toFile()).redirectErrorStream(true).start();
    String result;
    try (InputStream in = check.getInputStream()) {
      result = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    assertTrue(check.waitFor(60, TimeUnit.SECONDS));
    assertEquals(0, check.exitValue(), "promtool check metrics:\n" + result);
  }
}
