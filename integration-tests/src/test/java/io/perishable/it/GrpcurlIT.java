package io.perishable.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.perishable.cli.stack.EnvoyBinary;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * An SRE's view: grpcurl (installed from the Go module proxy by tools/install-go-tool.sh)
 * discovers and calls both services through server reflection, and reads gRPC health.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class GrpcurlIT {
  private Stack stack;
  private String grpcurl;

  @BeforeAll
  void start() throws Exception {
    Path repo = EnvoyBinary.repoRoot();
    grpcurl = run(repo.resolve("tools/install-go-tool.sh").toString(), "grpcurl").strip();
    stack = new Stack();
  }

  @AfterAll
  void stop() {
    if (stack != null) {
      stack.close();
    }
  }

  private static String run(String... command) throws IOException, InterruptedException {
    Process process = new ProcessBuilder(command).redirectErrorStream(false).start();
    String out;
    String err;
    try (InputStream stdout = process.getInputStream();
        InputStream stderr = process.getErrorStream()) {
      out = new String(stdout.readAllBytes(), StandardCharsets.UTF_8);
      err = new String(stderr.readAllBytes(), StandardCharsets.UTF_8);
    }
    assertTrue(process.waitFor(300, TimeUnit.SECONDS), "timed out: " + List.of(command));
    assertEquals(0, process.exitValue(), String.join(" ", command) + "\n" + out + err);
    return out;
  }

  private String grpcurl(String... args) throws Exception {
    List<String> command = new ArrayList<>(List.of(grpcurl, "-plaintext", "-max-time", "10"));
    command.addAll(List.of(args));
    return run(command.toArray(String[]::new));
  }

  @Test
  void controlPlane_listsItsServicesThroughReflection() throws Exception {
    List<String> services = grpcurl(stack.stack.controlPlaneTarget(), "list").lines().toList();
    assertTrue(services.contains("perishable.v1.TokenService"), services.toString());
    assertTrue(services.contains("perishable.v1.SyncService"), services.toString());
    assertTrue(services.contains("grpc.health.v1.Health"), services.toString());
  }

  @Test
  void authzService_listsEnvoysAuthorizationThroughReflection() throws Exception {
    List<String> services =
        grpcurl("127.0.0.1:" + stack.stack.authzPort(), "list").lines().toList();
    assertTrue(services.contains("envoy.service.auth.v3.Authorization"), services.toString());
    assertTrue(services.contains("grpc.health.v1.Health"), services.toString());
  }

  @Test
  void issue_calledByGrpcurl_returnsAToken() throws Exception {
    String describe = grpcurl(stack.stack.controlPlaneTarget(), "describe",
        "perishable.v1.IssueRequest");
    assertTrue(describe.contains("agent_id"), describe);

    String response = grpcurl("-H", "authorization: Bearer " + stack.stack.issuerSecret(),
        "-d", "{\"agent_id\":\"grpcurl-agent\",\"scopes\":[\"llm:complete\"],\"ttl\":\"60s\"}",
        stack.stack.controlPlaneTarget(), "perishable.v1.TokenService/Issue");
    JsonNode json = Stack.json(response);
    assertTrue(json.at("/token").asText().startsWith("prs_"));
    // grpcurl prints proto field names.
    assertEquals("grpcurl-agent", json.at("/agent_id").asText(), response.replaceAll(
        "prs_[A-Za-z0-9_.-]+", "prs_(redacted)"));
  }

  @Test
  void health_bothServicesServing() throws Exception {
    for (String target : List.of(stack.stack.controlPlaneTarget(),
        "127.0.0.1:" + stack.stack.authzPort())) {
      JsonNode health = Stack.json(grpcurl(target, "grpc.health.v1.Health/Check"));
      assertEquals("SERVING", health.at("/status").asText(), target);
    }
  }
}
