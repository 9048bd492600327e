package io.perishable.authz.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.perishable.authz.DenialReason;
import io.perishable.authz.decision.AuthzRequest;
import io.perishable.authz.decision.Decision;
import io.perishable.authz.sync.SyncStatus;
import io.perishable.authz.testing.MutableClock;
import io.perishable.authz.token.KeyRing;
import io.perishable.authz.token.TokenVerifier;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class AuthzMetricsTest {
  private final SyncStatus sync = new SyncStatus() {
    @Override
    public boolean hasSnapshot() {
      return true;
    }

    @Override
    public Duration silence() {
      return Duration.ofMillis(1500);
    }
  };
  private final AuthzMetrics metrics = new AuthzMetrics(
      new TokenVerifier(new KeyRing(), MutableClock.startingNow(), Duration.ZERO, 10), sync);

  private static AuthzRequest request(String body) {
    return new AuthzRequest("POST", "/v1/chat/completions", Map.of(),
        body.getBytes(StandardCharsets.UTF_8), "r1");
  }

  private String scrape() throws Exception {
    try (MetricsEndpoint endpoint = MetricsEndpoint.start("127.0.0.1", 0, metrics.registry())) {
      HttpResponse<String> response = HttpClient.newHttpClient().send(
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + endpoint.port() + "/metrics"))
              .build(), HttpResponse.BodyHandlers.ofString());
      assertEquals(200, response.statusCode());
      return response.body();
    }
  }

  @Test
  void decisions_countedByResultAndReason_andScrapedAsPrometheusText() throws Exception {
    Decision deny = new Decision.Deny(DenialReason.TOKEN_EXPIRED, "m", null, false);
    metrics.decided(request("{}"), deny, 120_000);
    metrics.decided(request("{\"a\":1}"), deny, 80_000);
    metrics.decided(null, new Decision.Deny(DenialReason.INTERNAL_ERROR, "m", null, false), 1);

    String text = scrape();

    assertTrue(text.contains(
        "perishable_authz_decisions_total{reason=\"token_expired\",result=\"deny\"} 2.0"), text);
    assertTrue(text.contains(
        "perishable_authz_decisions_total{reason=\"internal_error\",result=\"deny\"} 1.0"));
    assertTrue(text.contains("perishable_authz_check_duration_seconds_count 3"), text);
    assertTrue(text.contains("perishable_authz_body_inspected_bytes_total 9.0"), text);
    assertTrue(text.contains("perishable_authz_sync_staleness_seconds 1.5"), text);
    assertTrue(text.contains("perishable_authz_synced 1.0"));
    assertTrue(text.contains("jvm_memory_used_bytes"), "JVM metrics too");
  }

  @Test
  void labels_neverCarryTokenOrAgentIds() throws Exception {
    var claims = io.perishable.authz.token.VerifiedToken.of(io.perishable.proto.v1.TokenClaims
        .newBuilder().setTokenId("tok-secretish").setAgentId("agent-42").build());
    metrics.decided(request("{}"),
        new Decision.Deny(DenialReason.MODEL_NOT_ALLOWED, "m", claims, false), 1);
    String text = scrape();
    assertFalse(text.contains("tok-secretish"));
    assertFalse(text.contains("agent-42"));
    assertTrue(List.of(text.split("\n")).stream()
        .anyMatch(l -> l.startsWith("perishable_authz_decisions_total{reason=\"model_not_allowed\"")));
  }
}
