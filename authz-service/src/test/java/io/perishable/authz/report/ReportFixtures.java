package io.perishable.authz.report;

import io.perishable.authz.DenialReason;
import io.perishable.authz.body.BodyFacts;
import io.perishable.authz.decision.AuthzRequest;
import io.perishable.authz.decision.Decision;
import io.perishable.authz.token.VerifiedToken;
import io.perishable.authz.upstream.Provider;
import io.perishable.authz.upstream.UpstreamConfig;
import io.perishable.authz.upstream.UpstreamCredentials;
import io.perishable.proto.v1.TokenClaims;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/** Named helpers that build decisions, configs and waits for the report tests. */
final class ReportFixtures {
  /** The provider key an allow carries in its headers: must never reach a report. */
  static final String PROVIDER_KEY = "sk-test-provider-key-0000";

  private ReportFixtures() {}

  /** Small segments, fast fsync and backoff: everything a test waits for happens quickly. */
  static ReportConfig config(Path dir) {
    return ReportConfig.defaults("authz-test", dir)
        .withSpool(1L << 20, SpoolFullPolicy.FAIL_CLOSED)
        .withSegmentBytes(8192)
        .withFsyncInterval(Duration.ofMillis(1))
        .withBatching(64, 4)
        .withBackoff(Duration.ofMillis(1), Duration.ofMillis(20));
  }

  static String tokenId(int n) {
    return String.format("tok%019d", n);
  }

  static VerifiedToken claims(int n) {
    return VerifiedToken.of(TokenClaims.newBuilder()
        .setTokenId(tokenId(n)).setKeyId("k1").setAgentId("agent-" + (n % 3))
        .addAncestorIds(tokenId(1_000_000)).addAncestorIds(tokenId(2_000_000))
        .addScopes("llm:complete").setUpstream("openai").build());
  }

  /** POST with a JSON body and a query string that must not be reported. */
  static AuthzRequest request(int n) {
    byte[] body = ("{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"hi "
        + n + "\"}]}").getBytes(StandardCharsets.UTF_8);
    return new AuthzRequest("POST", "/v1/chat/completions?api_key=secret-" + n,
        Map.of("authorization", List.of("Bearer prs_notarealtoken." + n)), body, "req-" + n);
  }

  static Decision allow(int n) {
    UpstreamConfig upstream = new UpstreamConfig("openai", Provider.OPENAI, Optional.empty(),
        Optional.of("OPENAI_API_KEY"), Optional.empty(), UpstreamConfig.DEFAULT_ANTHROPIC_VERSION);
    BodyFacts body = new BodyFacts(Optional.of("gpt-4o-mini"), OptionalLong.of(64),
        OptionalLong.empty(), OptionalLong.empty(), false, 80);
    return new Decision.Allow(claims(n), "llm:complete",
        new UpstreamCredentials.Upstream(upstream, PROVIDER_KEY), body,
        Map.of("authorization", "Bearer " + PROVIDER_KEY), Map.of(), List.of("x-api-key"));
  }

  static Decision deny(int n) {
    return new Decision.Deny(DenialReason.MODEL_NOT_ALLOWED, "model not allowed", claims(n),
        false);
  }

  /** Alternating allows and denials. */
  static Decision decision(int n) {
    return n % 2 == 0 ? deny(n) : allow(n);
  }

  /** Waits until {@code condition} holds, polling; fails with {@code what} after 10 s. */
  static void await(String what, BooleanSupplier condition) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting for: " + what);
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
    }
  }
}
