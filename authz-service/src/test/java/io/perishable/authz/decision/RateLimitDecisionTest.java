package io.perishable.authz.decision;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import io.perishable.authz.DenialReason;
import io.perishable.authz.ratelimit.RateLimiter;
import io.perishable.authz.scope.RateLimit;
import io.perishable.authz.testing.MutableClock;
import io.perishable.authz.testing.TestTokens;
import io.perishable.token.SigningKey;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** Per-scope rate limits as the engine applies them: last, per token, with Retry-After. */
class RateLimitDecisionTest {
  private final MutableClock clock = new MutableClock(Instant.parse("2026-11-24T12:00:00Z"));
  private final AtomicLong ticker = new AtomicLong();
  private final TestTokens tokens = new TestTokens(SigningKey.generate(clock.millis()), clock);
  private final DecisionEngine engine;

  RateLimitDecisionTest() {
    engine = SingleScopeEngine.build(tokens, clock, Optional.of(RateLimit.parse("2/minute")),
        new RateLimiter(ticker::get, 100), () -> true);
  }

  private Decision chat(String token, String model) {
    return engine.decide(Requests.post("/v1/chat/completions").bearer(token)
        .chat(model, 10).build());
  }

  @Test
  void check_overTheScopesRateLimit_denied429WithRetryAfter() {
    String token = tokens.mint();
    assertInstanceOf(Decision.Allow.class, chat(token, "gpt-4o-mini"));
    assertInstanceOf(Decision.Allow.class, chat(token, "gpt-4o-mini"));

    Decision.Deny deny = assertInstanceOf(Decision.Deny.class, chat(token, "gpt-4o-mini"));
    assertEquals(DenialReason.RATE_LIMITED, deny.reason());
    assertEquals(429, deny.reason().httpStatus());
    assertEquals(Optional.of(Duration.ofSeconds(30)), deny.retryAfter());
    assertEquals("rate limit of 2 requests per minute for scope llm:complete reached; retry "
        + "after 30s", deny.message());
  }

  @Test
  void check_bucketRefills_allowedAgain() {
    String token = tokens.mint();
    chat(token, "gpt-4o-mini");
    chat(token, "gpt-4o-mini");
    ticker.addAndGet(Duration.ofSeconds(30).toNanos());
    assertInstanceOf(Decision.Allow.class, chat(token, "gpt-4o-mini"));
  }

  @Test
  void check_refusedForAnotherReason_spendsNoPermit() {
    String token = tokens.mint();
    for (int i = 0; i < 5; i++) {
      assertEquals(DenialReason.MODEL_NOT_ALLOWED,
          ((Decision.Deny) chat(token, "gpt-4o")).reason());
    }
    assertInstanceOf(Decision.Allow.class, chat(token, "gpt-4o-mini"));
  }

  @Test
  void check_eachTokenHasItsOwnBucket() {
    String first = tokens.mint();
    chat(first, "gpt-4o-mini");
    chat(first, "gpt-4o-mini");
    assertInstanceOf(Decision.Allow.class, chat(tokens.mint(), "gpt-4o-mini"));
  }
}
