package io.perishable.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.perishable.controlplane.ControlPlaneServer;
import io.perishable.controlplane.budget.AgentBudget;
import io.perishable.controlplane.config.ControlPlaneConfig;
import io.perishable.controlplane.config.IssuerCredential;
import io.perishable.controlplane.issuer.IssuerAuthenticator;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code perishable issue / revoke / list / lineage} against a real control plane on loopback
 * (no replicas connected): what they print and which exit code they return.
 */
class TokenCommandsTest {
  private static final String SECRET = "pis_cli-test-secret-0123456789abcdef";
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir
  Path dir;

  private ControlPlaneServer server;
  private Path secretFile;

  /** One run of the CLI. */
  private record Run(int exit, String out, String err) {
    JsonNode json() throws Exception {
      return JSON.readTree(out);
    }
  }

  @BeforeEach
  void start() throws Exception {
    server = ControlPlaneServer.start(new ControlPlaneConfig("127.0.0.1", 0, dir.resolve("cp"),
        Duration.ofMinutes(15), Duration.ofHours(1),
        Map.of("llm:complete", Optional.empty(), "llm:embed", Optional.empty()),
        Set.of("openai"), "openai",
        List.of(new IssuerCredential("cli", IssuerAuthenticator.sha256(SECRET))),
        Duration.ofSeconds(2), 2).withAgentBudgets(List.of(
            new AgentBudget("summarizer", 70_000, Duration.ofHours(24)))), Clock.systemUTC());
    secretFile = Files.writeString(dir.resolve("secret"), SECRET);
  }

  @AfterEach
  void stop() {
    server.close();
  }

  private Run run(String... args) {
    List<String> all = new ArrayList<>(List.of(args));
    all.add(1, "--control-plane=127.0.0.1:" + server.port());
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cli = PerishableCommand.commandLine();
    cli.setOut(new PrintWriter(out));
    cli.setErr(new PrintWriter(err));
    int exit = cli.execute(all.toArray(String[]::new));
    return new Run(exit, out.toString(), err.toString());
  }

  private JsonNode issue(String... extra) throws Exception {
    List<String> args = new ArrayList<>(List.of("issue", "--issuer-secret-file=" + secretFile,
        "--json"));
    args.addAll(List.of(extra));
    Run r = run(args.toArray(String[]::new));
    assertEquals(ExitCodes.OK, r.exit(), r.err());
    return r.json();
  }

  @Test
  void issueWithBudget_usageShowsIt() throws Exception {
    JsonNode token = issue("--agent=spender", "--scope=llm:complete", "--budget=5000");
    assertEquals(5000, token.at("/grant/budget_tokens").asLong());

    Run usage = run("usage", "--issuer-secret-file=" + secretFile, "--json",
        token.get("token_id").asText());

    assertEquals(ExitCodes.OK, usage.exit(), usage.err());
    assertEquals(5000, usage.json().get("budget").asLong());
    assertEquals(0, usage.json().get("spent").asLong());
    assertEquals(5000, usage.json().get("available").asLong());
    Run unknown = run("usage", "--issuer-secret-file=" + secretFile, "nobody");
    assertEquals(ExitCodes.SERVER_ERROR, unknown.exit());
    assertTrue(unknown.err().contains("NOT_FOUND"), unknown.err());
  }

  @Test
  void usageByAgent_showsTheCurrentPeriod() throws Exception {
    JsonNode token = issue("--agent=summarizer", "--scope=llm:complete");
    assertEquals(70_000, token.at("/grant/budget_tokens").asLong(),
        "an agent with a period budget is always metered");

    Run usage = run("usage", "--issuer-secret-file=" + secretFile, "--json",
        "--agent=summarizer");

    assertEquals(ExitCodes.OK, usage.exit(), usage.err());
    assertEquals("summarizer", usage.json().get("agent_id").asText());
    assertEquals(70_000, usage.json().get("budget").asLong());
    assertEquals(70_000, usage.json().get("available").asLong());
    assertTrue(usage.json().get("period_start").asText().endsWith("T00:00:00Z"),
        usage.out());
    Run text = run("usage", "--issuer-secret-file=" + secretFile, "--agent=summarizer");
    assertTrue(text.out().startsWith("agent summarizer, period "), text.out());
    Run unknown = run("usage", "--issuer-secret-file=" + secretFile, "--agent=nobody");
    assertEquals(ExitCodes.SERVER_ERROR, unknown.exit());
    assertTrue(unknown.err().contains("NOT_FOUND"), unknown.err());
    Run neither = run("usage", "--issuer-secret-file=" + secretFile);
    assertEquals(ExitCodes.USAGE, neither.exit());
    assertTrue(neither.err().contains("give a TOKEN_ID or --agent NAME"), neither.err());
  }

  @Test
  void issueWithParentTokenFile_mintsChildWithoutIssuerSecret() throws Exception {
    JsonNode parent = issue("--agent=boss", "--scope=llm:complete,llm:embed");
    Path parentFile = Files.writeString(dir.resolve("parent.token"),
        parent.get("token").asText());

    Run child = run("issue", "--agent=worker", "--parent-token-file=" + parentFile, "--json");

    assertEquals(ExitCodes.OK, child.exit(), child.err());
    assertEquals(parent.get("token_id").asText(),
        child.json().get("ancestor_ids").get(0).asText());
    Run tooMuch = run("issue", "--agent=worker", "--parent-token-file=" + parentFile,
        "--ttl=2h");
    assertEquals(ExitCodes.SERVER_ERROR, tooMuch.exit());
    assertTrue(tooMuch.err().contains("INVALID_ARGUMENT: ttl 2h exceeds max_ttl 1h"),
        tooMuch.err());
  }

  @Test
  void revokeListLineage_roundTrip() throws Exception {
    JsonNode root = issue("--agent=boss", "--scope=llm:complete");
    Path rootFile = Files.writeString(dir.resolve("root.token"), root.get("token").asText());
    Run child = run("issue", "--agent=worker", "--parent-token-file=" + rootFile, "--json");
    String childId = child.json().get("token_id").asText();

    Run revoke = run("revoke", "--issuer-secret-file=" + secretFile,
        "--token-id=" + root.get("token_id").asText(), "--reason=rotated", "--json");
    assertEquals(ExitCodes.OK, revoke.exit(), revoke.err());
    assertEquals(2, revoke.json().get("tokens_covered").asInt());

    Run list = run("list", "--issuer-secret-file=" + secretFile, "--state=revoked", "--json");
    assertEquals(ExitCodes.OK, list.exit(), list.err());
    assertEquals(2, list.json().size());
    assertEquals("rotated", list.json().get(0).get("revocation").get("reason").asText());

    Run lineage = run("lineage", "--issuer-secret-file=" + secretFile, childId);
    assertEquals(ExitCodes.OK, lineage.exit(), lineage.err());
    String[] lines = lineage.out().split("\n");
    assertTrue(lines[0].startsWith("  " + root.get("token_id").asText() + "  boss  revoked"),
        lineage.out());
    assertTrue(lines[1].startsWith("  * " + childId + "  worker  revoked"), lineage.out());
  }

  @Test
  void revoke_badSelectorOrUnknownToken_exit1WithServerMessage() {
    Run none = run("revoke", "--issuer-secret-file=" + secretFile, "--reason=x");
    assertEquals(ExitCodes.SERVER_ERROR, none.exit());
    assertTrue(none.err().contains("INVALID_ARGUMENT: no selector"), none.err());

    Run unknown = run("revoke", "--issuer-secret-file=" + secretFile,
        "--token-id=AAAAAAAAAAAAAAAAAAAAAA");
    assertEquals(ExitCodes.SERVER_ERROR, unknown.exit());
    assertTrue(unknown.err().contains("NOT_FOUND"), unknown.err());
  }

  @Test
  void revoke_badInstant_usageError() {
    Run r = run("revoke", "--issuer-secret-file=" + secretFile, "--issued-from=yesterday");
    assertEquals(ExitCodes.USAGE, r.exit());
    assertTrue(r.err().contains("--issued-from: 'yesterday' is not an ISO-8601 instant"),
        r.err());
  }
}
