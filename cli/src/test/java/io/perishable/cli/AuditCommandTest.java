package io.perishable.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import io.perishable.controlplane.ControlPlaneServer;
import io.perishable.controlplane.config.ControlPlaneConfig;
import io.perishable.controlplane.config.IssuerCredential;
import io.perishable.controlplane.issuer.IssuerAuthenticator;
import io.perishable.proto.v1.DecisionReport;
import io.perishable.proto.v1.ReportAck;
import io.perishable.proto.v1.ReportBatch;
import io.perishable.proto.v1.ReportServiceGrpc;
import io.perishable.proto.v1.ResponseMetering;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code perishable audit export / verify / tail} and the control plane's refusal to start on a
 * damaged log: what they print and which exit code they return.
 */
class AuditCommandTest {
  private static final String SECRET = "pis_cli-audit-secret-0123456789abcdef";

  @TempDir
  Path dir;

  private record Run(int exit, String out, String err) {}

  private static Run run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cli = PerishableCommand.commandLine();
    cli.setOut(new PrintWriter(out));
    cli.setErr(new PrintWriter(err));
    int exit = cli.execute(args);
    return new Run(exit, out.toString(), err.toString());
  }

  private ControlPlaneServer start() {
    return ControlPlaneServer.start(new ControlPlaneConfig("127.0.0.1", 0, dir.resolve("cp"),
        Duration.ofMinutes(15), Duration.ofHours(1), Map.of("llm:complete", Optional.empty()),
        Set.of("openai"), "openai",
        List.of(new IssuerCredential("cli", IssuerAuthenticator.sha256(SECRET))),
        Duration.ofSeconds(2), 2), Clock.systemUTC());
  }

  /** Starts a control plane, issues two tokens through the CLI, tails, stops it. */
  private void populate() throws Exception {
    Path secretFile = Files.writeString(dir.resolve("secret"), SECRET);
    ControlPlaneServer server = start();
    try {
      String target = "--control-plane=127.0.0.1:" + server.port();
      for (String agent : List.of("agent-1", "agent-2")) {
        Run issued = run("issue", target, "--issuer-secret-file=" + secretFile,
            "--agent=" + agent, "--scope=llm:complete");
        assertEquals(ExitCodes.OK, issued.exit(), issued.err());
      }
      Run tail = run("audit", "tail", target, "--issuer-secret-file=" + secretFile,
          "--from=1", "--count=3", "--json");
      assertEquals(ExitCodes.OK, tail.exit(), tail.err());
      List<String> lines = tail.out().lines().toList();
      assertEquals(3, lines.size(), tail.out());
      assertTrue(lines.get(0).startsWith("{\"seq\":1,") && lines.get(0).contains("key_rotated"));
      assertTrue(lines.get(2).contains("\"agent_id\":\"agent-2\""), lines.get(2));
      assertTrue(lines.get(2).endsWith("\"}") && lines.get(2).contains(",\"hash\":\""));
      Run human = run("audit", "tail", target, "--issuer-secret-file=" + secretFile,
          "--from=2", "--count=1");
      assertTrue(human.out().startsWith("2 ") && human.out().contains(" issued ")
          && human.out().contains("agent_id=agent-1"), human.out());
    } finally {
      server.close();
    }
  }

  @Test
  void exportThenVerify_cleanLogAndExportVerify_aFlippedByteIsNamed() throws Exception {
    populate();
    Path data = dir.resolve("cp");
    Run verifyLog = run("audit", "verify", "--data-dir=" + data);
    assertEquals(ExitCodes.OK, verifyLog.exit(), verifyLog.err());
    assertTrue(verifyLog.out().startsWith("OK: "), verifyLog.out());

    Path export = dir.resolve("export.jsonl");
    Run exported = run("audit", "export", "--data-dir=" + data, "--from=2", "--to=3",
        "--out=" + export);
    assertEquals(ExitCodes.OK, exported.exit(), exported.err());
    assertTrue(exported.out().contains("seq 2.."), exported.out());
    Run verifyExport = run("audit", "verify", "--file=" + export, "--keys-from=" + data);
    assertEquals(ExitCodes.OK, verifyExport.exit(), verifyExport.err());

    String text = Files.readString(export);
    Files.writeString(export, text.replaceFirst("agent-2", "agent-3"));
    Run tampered = run("audit", "verify", "--file=" + export, "--keys-from=" + data);
    assertEquals(ExitCodes.DAMAGED_DATA, tampered.exit());
    assertTrue(tampered.err().contains("FAILED at seq 3") && tampered.err()
        .contains("hash mismatch"), tampered.err());
  }

  @Test
  void exportThenVerify_aCompletionRecordFromAReplica() throws Exception {
    String hash = "5e".repeat(32);
    ControlPlaneServer server = start();
    ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", server.port())
        .usePlaintext().build();
    try {
      BlockingQueue<Long> acks = new LinkedBlockingQueue<>();
      StreamObserver<ReportBatch> replica = ReportServiceGrpc.newStub(channel).report(
          new StreamObserver<>() {
            @Override
            public void onNext(ReportAck ack) {
              acks.add(ack.getDurableThroughSeq());
            }

            @Override
            public void onError(Throwable t) {}

            @Override
            public void onCompleted() {}
          });
      replica.onNext(ReportBatch.newBuilder().setReplicaId("authz-1").setSpoolId("spool-1")
          .addDecisions(DecisionReport.newBuilder().setSeq(1).setTimeMs(1).setAllowed(true)
              .setTokenId("tok-1").setRequestId("req-1").setMetering(ResponseMetering
                  .newBuilder().setOutcome(ResponseMetering.Outcome.USAGE)
                  .setCompletionHash(hash).setUpstreamStatus(200).setInputTokens(7)
                  .setOutputTokens(5)))
          .build());
      assertEquals(1L, acks.poll(10, TimeUnit.SECONDS), "the completion is durable");
      replica.onCompleted();
    } finally {
      channel.shutdownNow();
      server.close();
    }

    Path data = dir.resolve("cp");
    Path export = dir.resolve("export.jsonl");
    Run exported = run("audit", "export", "--data-dir=" + data, "--out=" + export);
    assertEquals(ExitCodes.OK, exported.exit(), exported.err());
    Run verified = run("audit", "verify", "--file=" + export, "--keys-from=" + data);
    assertEquals(ExitCodes.OK, verified.exit(), verified.err());
    String completion = Files.readAllLines(export).stream()
        .filter(l -> l.contains("\"type\":\"completion\"")).findFirst().orElseThrow();
    assertTrue(completion.contains("\"completion_hash\":\"" + hash + "\"")
        && completion.contains("\"request_id\":\"req-1\"")
        && completion.contains("\"output_tokens\":\"5\""), completion);
  }

  @Test
  void controlPlane_damagedLog_exit3NamingTheSeq() throws Exception {
    populate();
    Path segment;
    try (Stream<Path> files = Files.list(dir.resolve("cp/audit"))) {
      segment = files.filter(p -> p.toString().endsWith(".jsonl")).sorted()
          .reduce((a, b) -> b).orElseThrow();
    }
    Files.writeString(segment, "{\"seq\":", StandardCharsets.UTF_8, StandardOpenOption.APPEND);
    long good = Files.readAllLines(segment).size() - 1;
    Path config = Files.writeString(dir.resolve("perishable.yaml"), String.join("\n",
        "control_plane:",
        "  port: 0",
        "  metrics_port: -1",
        "  data_dir: cp",
        "  issuers:",
        "    - id: cli",
        "      secret_sha256: " + HexFormat.of().formatHex(IssuerAuthenticator.sha256(SECRET)),
        "scopes:",
        "  llm:complete: {methods: [POST], paths: [/v1/chat/completions]}",
        "upstreams:",
        "  openai: {provider: openai, api_key_env: OPENAI_API_KEY}",
        ""));

    Run refused = run("control-plane", "--config=" + config);

    assertEquals(ExitCodes.DAMAGED_DATA, refused.exit());
    assertTrue(refused.err().contains("damaged at seq " + (good + 1))
        && refused.err().contains("truncated record")
        && refused.err().contains("--quarantine-damaged-tail"), refused.err());
    Run verify = run("audit", "verify", "--data-dir=" + dir.resolve("cp"));
    assertEquals(ExitCodes.DAMAGED_DATA, verify.exit());
    assertTrue(verify.err().contains("seq " + (good + 1)), verify.err());
  }

  @Test
  void config_controlPlaneAuditSection_parsedWithDefaults() {
    ControlPlaneConfig c = io.perishable.cli.config.ConfigFile.parse(String.join("\n",
        "control_plane:",
        "  shutdown_grace: 3s",
        "  audit:",
        "    checkpoint_interval: 30s",
        "    quarantine_damaged_tail: true",
        "  issuers: [{id: a, secret_sha256: " + "ab".repeat(32) + "}]",
        "scopes: {llm:complete: {methods: [POST], paths: [/v1/x]}}",
        "upstreams: {openai: {provider: openai, api_key_env: K}}",
        ""), dir).controlPlane().validate();
    assertEquals(ControlPlaneConfig.DEFAULT_METRICS_PORT, c.metricsPort());
    assertEquals(Duration.ofSeconds(3), c.shutdownGrace());
    assertEquals(Duration.ofSeconds(30), c.audit().checkpointInterval());
    assertEquals(10_000, c.audit().checkpointEveryRecords());
    assertTrue(c.audit().quarantineDamagedTail());
  }
}
