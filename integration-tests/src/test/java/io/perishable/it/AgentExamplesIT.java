package io.perishable.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.perishable.cli.stack.EnvoyBinary;
import io.perishable.fakellm.RecordedRequest;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** The shipped agent examples, run against a real stack exactly as their READMEs say. */
class AgentExamplesIT {
  private static String run(Path directory, List<String> command) throws Exception {
    Process process = new ProcessBuilder(command).directory(directory.toFile())
        .redirectErrorStream(true).start();
    String out;
    try (InputStream in = process.getInputStream()) {
      out = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    assertTrue(process.waitFor(120, TimeUnit.SECONDS), "timed out: " + command);
    assertEquals(0, process.exitValue(), String.join(" ", command) + "\n" + out);
    return out;
  }

  @Test
  void javaAgent_issuesCallsDelegatesAndRefreshes() throws Exception {
    try (Stack stack = new Stack()) {
      io.perishable.examples.JavaAgent.Result result = io.perishable.examples.JavaAgent.run(
          stack.stack.controlPlaneTarget(), stack.stack.envoyUrl(), stack.stack.issuerSecret(),
          java.time.Clock.systemUTC());
      assertEquals("Hello from fake-llm.", result.answer());
      assertTrue(result.subAnswer().startsWith("Hello"));
      assertEquals(403, result.childOverLimitStatus());
      assertEquals("max_tokens_exceeded", result.childOverLimitCode());
      assertEquals("PERMISSION_DENIED", result.greedyChild());
      assertTrue(result.refreshed());
      assertEquals("Hello from fake-llm.", result.afterRefresh());
      assertEquals(3, stack.stack.fakeLlm().requests().size());
      for (RecordedRequest r : stack.stack.fakeLlm().requests()) {
        assertEquals(List.of("Bearer " + stack.stack.openAiKey()),
            r.headerValues("authorization"));
      }
    }
  }

  @Test
  void pythonAgent_issuesCallsDelegatesAndRefreshes() throws Exception {
    String python = System.getenv("PERISHABLE_PYTHON");
    Assumptions.assumeTrue(python != null && !python.isBlank(),
        "PERISHABLE_PYTHON not set: bin/test installs grpcio, grpcio-tools and openai");
    Path repo = EnvoyBinary.repoRoot();
    Path gen = Files.createTempDirectory("perishable-py-stubs");
    run(repo, List.of(python, "-m", "grpc_tools.protoc", "-I", "proto/src/main/proto",
        "--python_out=" + gen, "--grpc_python_out=" + gen,
        "perishable/v1/token.proto", "perishable/v1/token_service.proto"));

    try (Stack stack = new Stack()) {
      Path example = repo.resolve("examples/python/agent.py");
      // The example reads its stubs from examples/python/gen; point it at ours instead.
      Path runDir = Files.createTempDirectory("perishable-py-agent");
      Files.copy(example, runDir.resolve("agent.py"));
      Files.createSymbolicLink(runDir.resolve("gen"), gen);
      Path secret = runDir.resolve("issuer-secret");
      Files.writeString(secret, stack.stack.issuerSecret());
      String out = run(runDir, new ArrayList<>(List.of(python, "agent.py",
          "--control-plane", stack.stack.controlPlaneTarget(),
          "--envoy", stack.stack.envoyUrl() + "/v1",
          "--issuer-secret-file", secret.toString())));

      JsonNode result = Stack.json(out.lines().reduce((a, b) -> b).orElse("{}"));
      assertEquals("Hello from fake-llm.", result.at("/answer").asText(), out);
      assertTrue(result.at("/sub_answer").asText().startsWith("Hello"), out);
      assertEquals("max_tokens_exceeded", result.at("/child_over_limit").asText(), out);
      assertEquals("PERMISSION_DENIED", result.at("/greedy_child").asText(), out);
      assertTrue(result.at("/refreshed").asBoolean(), out);
      assertEquals("Hello from fake-llm.", result.at("/after_refresh").asText(), out);
      for (RecordedRequest r : stack.stack.fakeLlm().requests()) {
        assertEquals(List.of("Bearer " + stack.stack.openAiKey()),
            r.headerValues("authorization"));
        assertTrue(!r.contains("prs_"));
      }
      assertEquals(3, stack.stack.fakeLlm().requests().size(),
          "root call, child call, call after refresh; the over-limit call never left Envoy");
    }
  }
}
