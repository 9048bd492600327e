package io.perishable.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.perishable.cli.stack.EnvoyBinary;
import io.perishable.fakellm.RecordedRequest;
import io.perishable.proto.v1.IssueRequest;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** What an SRE sees and does: metrics, rate limits, key rotation, draining. */
class OperabilityIT {
  private static double metric(String text, String series) {
    Matcher m = Pattern.compile("(?m)^" + Pattern.quote(series) + " ([0-9.eE+-]+)$")
        .matcher(text);
    return m.find() ? Double.parseDouble(m.group(1)) : 0;
  }

  private static String scrape(Stack stack) {
    return stack.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
        + stack.stack.authz().metricsPort() + "/metrics")).build()).body();
  }

  @Test
  void metrics_moveWithTrafficThroughEnvoy_andPassPromtool() throws Exception {
    try (Stack stack = new Stack()) {
      String before = scrape(stack);
      String token = stack.issue().getToken();
      for (int i = 0; i < 3; i++) {
        assertEquals(200, stack.postJson("/v1/chat/completions", token,
            Stack.chat("gpt-4o-mini", 10)).statusCode());
      }
      stack.postJson("/v1/chat/completions", token, Stack.chat("gpt-4o", 10));
      stack.postJson("/v1/chat/completions", null, Stack.chat("gpt-4o-mini", 10));

      String after = scrape(stack);
      String allow = "perishable_authz_decisions_total{reason=\"none\",result=\"allow\"}";
      String model = "perishable_authz_decisions_total{reason=\"model_not_allowed\","
          + "result=\"deny\"}";
      String missing = "perishable_authz_decisions_total{reason=\"token_missing\","
          + "result=\"deny\"}";
      assertEquals(3, metric(after, allow) - metric(before, allow), after);
      assertEquals(1, metric(after, model) - metric(before, model));
      assertEquals(1, metric(after, missing) - metric(before, missing));
      assertEquals(5, metric(after, "perishable_authz_check_duration_seconds_count")
          - metric(before, "perishable_authz_check_duration_seconds_count"));
      assertTrue(metric(after, "perishable_authz_body_inspected_bytes_total") > 0);
      assertEquals(1, metric(after, "perishable_authz_synced"));
      assertFalse(after.contains(token.substring(4, 20)), "no token material in metrics");

      Path scraped = Files.createTempFile("authz-metrics", ".txt");
      Files.writeString(scraped, after);
      String promtool = run(EnvoyBinary.repoRoot().resolve("tools/install-promtool.sh")
          .toString()).strip();
      ProcessBuilder check = new ProcessBuilder(promtool, "check", "metrics")
          .redirectInput(scraped.toFile()).redirectErrorStream(true);
      Process p = check.start();
      String out;
      try (InputStream in = p.getInputStream()) {
        out = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      }
      assertTrue(p.waitFor(60, TimeUnit.SECONDS));
      assertEquals(0, p.exitValue(), "promtool check metrics:\n" + out);
    }
  }

  @Test
  void rateLimit_nPlusFirstRequest_429WithRetryAfter() {
    try (Stack stack = new Stack()) {
      String token = stack.issue(IssueRequest.newBuilder().setAgentId("trial-agent")
          .addScopes("llm:trial").build()).getToken();
      for (int i = 0; i < 3; i++) {
        assertEquals(200, stack.postJson("/v1/chat/completions", token,
            Stack.chat("gpt-4o-mini", 10)).statusCode());
      }
      HttpResponse<String> limited =
          stack.postJson("/v1/chat/completions", token, Stack.chat("gpt-4o-mini", 10));
      assertEquals(429, limited.statusCode(), limited.body());
      assertEquals("rate_limited", Stack.json(limited.body()).at("/error/code").asText());
      long retryAfter = Long.parseLong(limited.headers().firstValue("retry-after").orElse("0"));
      assertTrue(retryAfter >= 1 && retryAfter <= 20, "retry-after " + retryAfter);
      assertTrue(limited.headers().firstValue("retry-after-ms").isPresent());
      assertEquals(3, stack.stack.fakeLlm().requests().size(), "the 429 never reached upstream");
    }
  }

  @Test
  void keyFileRotated_nextRequestCarriesTheNewKey() throws Exception {
    try (Stack stack = new Stack()) {
      String token = stack.issue().getToken();
      assertEquals(200, stack.postJson("/v1/chat/completions", token,
          Stack.chat("gpt-4o-mini", 10)).statusCode());

      Path keyFile = stack.stack.configFile().getParent().resolve("upstream-keys/openai.key");
      String rotated = "sk-fake-openai-rotated-" + System.nanoTime();
      Files.writeString(keyFile, rotated + "\n");

      // Reloaded within authz.key_reload_interval (1s in the stack); poll, don't sleep blindly.
      Instant deadline = Instant.now().plusSeconds(15);
      while (true) {
        stack.stack.fakeLlm().clear();
        stack.postJson("/v1/chat/completions", token, Stack.chat("gpt-4o-mini", 10));
        RecordedRequest seen = stack.stack.fakeLlm().lastRequest();
        if (seen.headerValues("authorization").equals(List.of("Bearer " + rotated))) {
          break;
        }
        assertTrue(Instant.now().isBefore(deadline), "rotated key not used within 15s");
        Thread.sleep(100);
      }
      String scraped = scrape(stack);
      assertTrue(scraped.contains(
          "perishable_authz_upstream_key_reloads_total{result=\"changed\",upstream=\"openai\"} 1.0"),
          scraped);
    }
  }

  @Test
  void authzDrainingUnderLoad_noClientSeesAReset() throws Exception {
    try (Stack stack = new Stack()) {
      String token = stack.issue().getToken();
      List<CompletableFuture<HttpResponse<String>>> inFlight = new ArrayList<>();
      for (int i = 0; i < 200; i++) {
        inFlight.add(stack.http.sendAsync(stack.to("/v1/chat/completions")
            .header("authorization", "Bearer " + token)
            .header("content-type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(Stack.chat("gpt-4o-mini", 10))).build(),
            HttpResponse.BodyHandlers.ofString()));
        if (i == 100) {
          stack.stack.authz().close();
        }
      }
      int ok = 0;
      int unavailable = 0;
      for (CompletableFuture<HttpResponse<String>> f : inFlight) {
        HttpResponse<String> r = f.get(60, TimeUnit.SECONDS); // a reset would throw here
        if (r.statusCode() == 200) {
          ok++;
        } else {
          assertEquals(503, r.statusCode(), r.body());
          assertEquals("authz_unavailable", Stack.json(r.body()).at("/error/code").asText());
          unavailable++;
        }
      }
      assertEquals(200, ok + unavailable);
      assertTrue(ok > 0, "requests before the drain were served");
    }
  }

  private static String run(String... command) throws IOException, InterruptedException {
    Process process = new ProcessBuilder(command).start();
    String out;
    try (InputStream in = process.getInputStream()) {
      out = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    assertTrue(process.waitFor(300, TimeUnit.SECONDS));
    assertEquals(0, process.exitValue(), String.join(" ", command));
    return out;
  }
}
