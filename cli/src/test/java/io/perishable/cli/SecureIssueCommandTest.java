package io.perishable.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.perishable.controlplane.ControlPlaneServer;
import io.perishable.controlplane.config.ControlPlaneConfig;
import io.perishable.controlplane.issuer.IssuerGrants;
import io.perishable.controlplane.issuer.WorkloadIdentity;
import io.perishable.tls.TestPki;
import io.perishable.tls.TlsFiles;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
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
 * {@code perishable issue} against a control plane with {@code control_plane.tls} and workload
 * identity: the client certificate flags and {@code --identity-token-file}.
 */
class SecureIssueCommandTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String CLUSTER = "https://kubernetes.default.svc";

  @TempDir
  Path dir;

  private ControlPlaneServer server;
  private TlsFiles client;
  private Path identityToken;

  private record Run(int exit, String out, String err) {}

  @BeforeEach
  void start() throws Exception {
    TestPki ca = TestPki.newCa("cli-test-ca");
    TlsFiles serverFiles = ca.issue(dir.resolve("certs"), "cp", "cp", Duration.ofMinutes(1));
    client = ca.issue(dir.resolve("certs"), "cli", "cli", Duration.ofMinutes(1));
    ECKey clusterKey = new ECKeyGenerator(Curve.P_256).keyID("c1").generate();
    Path jwks = Files.writeString(dir.resolve("jwks.json"),
        new JWKSet(clusterKey.toPublicJWK()).toString());
    WorkloadIdentity identity = new WorkloadIdentity("k8s", CLUSTER, "perishable",
        Optional.of(jwks), Optional.empty(), Duration.ofSeconds(30));
    IssuerGrants agents = new IssuerGrants("k8s:system:serviceaccount:agents:*",
        Set.of("llm:complete"), Set.of(), Set.of(), Optional.of(Duration.ofMinutes(15)),
        Optional.empty());
    server = ControlPlaneServer.start(new ControlPlaneConfig("127.0.0.1", 0, dir.resolve("cp"),
        Duration.ofMinutes(5), Duration.ofHours(1),
        Map.of("llm:complete", Optional.empty(), "llm:embed", Optional.empty()),
        Set.of("openai"), "openai", List.of(), Duration.ofSeconds(2), 2)
        .withTls(serverFiles)
        .withIssuerIdentity(Optional.of(identity), List.of(agents)), Clock.systemUTC());

    Instant now = Instant.now();
    SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.ES256).keyID("c1").build(),
        new JWTClaimsSet.Builder().issuer(CLUSTER).audience("perishable")
            .subject("system:serviceaccount:agents:planner").issueTime(Date.from(now))
            .expirationTime(Date.from(now.plusSeconds(600))).build());
    jwt.sign(new ECDSASigner(clusterKey));
    identityToken = Files.writeString(dir.resolve("sa-token"), jwt.serialize() + "\n");
  }

  @AfterEach
  void stop() {
    server.close();
  }

  private Run run(String... args) {
    List<String> all = new ArrayList<>(List.of(args));
    all.add(1, "--control-plane=localhost:" + server.port());
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cli = PerishableCommand.commandLine();
    cli.setOut(new PrintWriter(out));
    cli.setErr(new PrintWriter(err));
    int exit = cli.execute(all.toArray(String[]::new));
    return new Run(exit, out.toString(), err.toString());
  }

  private List<String> tlsFlags() {
    return List.of("--tls-cert=" + client.certificateChain(), "--tls-key=" + client.privateKey(),
        "--tls-ca=" + client.trustedCa());
  }

  private Run issue(List<String> extra) {
    List<String> args = new ArrayList<>(List.of("issue", "--agent=planner-1",
        "--scope=llm:complete", "--ttl=10m", "--json"));
    args.addAll(extra);
    return run(args.toArray(String[]::new));
  }

  @Test
  void issue_clientCertificateAndIdentityToken_issued() throws Exception {
    List<String> args = new ArrayList<>(tlsFlags());
    args.add("--identity-token-file=" + identityToken);

    Run r = issue(args);

    assertEquals(ExitCodes.OK, r.exit(), r.err());
    JsonNode json = JSON.readTree(r.out());
    assertTrue(json.get("token").asText().startsWith("prs_"), r.out());
  }

  @Test
  void issue_beyondThePrincipalsGrant_refusedNamingTheLimit() {
    List<String> args = new ArrayList<>(tlsFlags());
    args.add("--identity-token-file=" + identityToken);
    args.add("--scope=llm:embed");

    Run r = issue(args);

    assertEquals(ExitCodes.SERVER_ERROR, r.exit());
    assertTrue(r.err().contains("PERMISSION_DENIED: not grantable by principal "
        + "k8s:system:serviceaccount:agents:planner"), r.err());
  }

  @Test
  void issue_withoutClientCertificate_failsToConnect() {
    Run r = issue(List.of("--identity-token-file=" + identityToken));

    assertEquals(ExitCodes.SERVER_ERROR, r.exit());
    assertTrue(r.err().contains("UNAVAILABLE"), r.err());
  }

  @Test
  void tlsFlagsIncomplete_orBothCredentials_usageErrors() throws Exception {
    Run partial = issue(List.of("--tls-cert=" + client.certificateChain(),
        "--identity-token-file=" + identityToken));
    assertEquals(ExitCodes.USAGE, partial.exit());
    assertTrue(partial.err().contains("--tls-cert, --tls-key and --tls-ca go together"),
        partial.err());

    Path secret = Files.writeString(dir.resolve("secret"), "pis_x");
    List<String> both = new ArrayList<>(tlsFlags());
    both.add("--identity-token-file=" + identityToken);
    both.add("--issuer-secret-file=" + secret);
    Run r = issue(both);
    assertEquals(ExitCodes.USAGE, r.exit());
    assertTrue(r.err().contains("exclude each other"), r.err());
    assertFalse(r.err().contains(Files.readString(identityToken).strip()), "token not echoed");
  }
}
