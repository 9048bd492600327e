package io.perishable.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.perishable.cli.stack.EnvoyBinary;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The shipped alerting rules (deploy/prometheus) are valid and behave as their unit tests say,
 * checked by promtool from Debian's prometheus package (tools/install-promtool.sh).
 */
class PrometheusRulesIT {
  private static final Path RULES = EnvoyBinary.repoRoot().resolve("deploy/prometheus");
  private static String promtool;

  @BeforeAll
  static void install() throws Exception {
    // The script prints progress on stderr (merged here) and the path as its last line.
    String out = run(RULES.getParent().getParent().resolve("tools/install-promtool.sh")
        .toString()).strip();
    promtool = out.substring(out.lastIndexOf('\n') + 1);
  }

  private static String run(String... command) throws IOException, InterruptedException {
    Process process = new ProcessBuilder(command).directory(RULES.toFile())
        .redirectErrorStream(true).start();
    String out;
    try (InputStream in = process.getInputStream()) {
      out = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    assertTrue(process.waitFor(300, TimeUnit.SECONDS), "timed out");
    assertEquals(0, process.exitValue(), String.join(" ", command) + "\n" + out);
    return out;
  }

  @Test
  void alertingRules_checkClean() throws Exception {
    String out = run(promtool, "check", "rules", "alerts.yaml");
    assertTrue(out.contains("SUCCESS: 7 rules found"), out);
  }

  @Test
  void alertingRules_passTheirUnitTests() throws Exception {
    String out = run(promtool, "test", "rules", "alerts_test.yaml");
    assertTrue(out.contains("SUCCESS"), out);
  }
}
