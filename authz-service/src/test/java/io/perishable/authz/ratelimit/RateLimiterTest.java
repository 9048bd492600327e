package io.perishable.authz.ratelimit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.perishable.authz.scope.RateLimit;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class RateLimiterTest {
  private final AtomicLong now = new AtomicLong(1_000_000_000L);
  private final RateLimiter limiter = new RateLimiter(now::get, 1000);
  private final RateLimit threePerMinute = RateLimit.parse("3/minute");

  private Optional<Duration> take(String token) {
    return limiter.tryAcquire(token, "llm:complete", threePerMinute);
  }

  @Test
  void tryAcquire_upToTheLimit_allowedThenRetryAfter() {
    assertTrue(take("t1").isEmpty());
    assertTrue(take("t1").isEmpty());
    assertTrue(take("t1").isEmpty());

    Optional<Duration> wait = take("t1");
    assertEquals(Optional.of(Duration.ofSeconds(20)), wait, "one permit refills every 20s");
  }

  @Test
  void tryAcquire_afterRefillInterval_onePermitBack() {
    for (int i = 0; i < 3; i++) {
      take("t1");
    }
    now.addAndGet(Duration.ofSeconds(19).toNanos());
    assertEquals(Optional.of(Duration.ofSeconds(1)), take("t1"));

    now.addAndGet(Duration.ofSeconds(1).toNanos());
    assertTrue(take("t1").isEmpty());
    assertTrue(take("t1").isPresent());
  }

  @Test
  void tryAcquire_longIdle_refillsOnlyToCapacity() {
    for (int i = 0; i < 3; i++) {
      take("t1");
    }
    now.addAndGet(Duration.ofHours(5).toNanos());
    for (int i = 0; i < 3; i++) {
      assertTrue(take("t1").isEmpty());
    }
    assertTrue(take("t1").isPresent(), "no more than capacity after a long idle");
  }

  @Test
  void tryAcquire_separateTokensAndScopes_separateBuckets() {
    for (int i = 0; i < 3; i++) {
      take("t1");
    }
    assertTrue(take("t1").isPresent());
    assertTrue(take("t2").isEmpty());
    assertTrue(limiter.tryAcquire("t1", "llm:embed", threePerMinute).isEmpty());
  }
}
