package io.perishable.authz.ratelimit;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.perishable.authz.scope.RateLimit;
import java.time.Duration;
import java.util.Optional;
import java.util.function.LongSupplier;
import javax.annotation.concurrent.GuardedBy;

/**
 * Token buckets, one per (token id, scope), on this replica. A bucket starts full with
 * {@code permits} and refills continuously at {@code permits / per}; a request takes one
 * permit or learns how long until one is there. Buckets idle for longer than a full refill are
 * forgotten (a forgotten bucket is indistinguishable from a full one), which bounds memory by
 * the number of recently active tokens.
 *
 * <p>Limits are per replica: with N replicas behind a load balancer a token may get up to N
 * times its limit. Budgets that must hold exactly across replicas are the budget issue's
 * leased counters, not this.
 */
public final class RateLimiter {
  private final LongSupplier nanoTicker;
  private final Cache<Key, Bucket> buckets;

  /**
   * @param nanoTicker monotonic nanoseconds ({@code System::nanoTime}; tests pass a fake)
   * @param maxBuckets most buckets kept at once
   */
  public RateLimiter(LongSupplier nanoTicker, long maxBuckets) {
    this.nanoTicker = nanoTicker;
    this.buckets = Caffeine.newBuilder()
        .maximumSize(maxBuckets)
        .ticker(nanoTicker::getAsLong)
        .expireAfterAccess(Duration.ofHours(1))
        .build();
  }

  private record Key(String tokenId, String scope) {}

  /**
   * Takes one permit for {@code tokenId} under {@code scope}'s limit.
   *
   * @return empty if allowed; otherwise how long until a permit is available (for
   *     {@code Retry-After})
   */
  public Optional<Duration> tryAcquire(String tokenId, String scope, RateLimit limit) {
    Bucket bucket = buckets.get(new Key(tokenId, scope), k -> new Bucket(limit, nanoTicker));
    return bucket.tryAcquire(nanoTicker.getAsLong());
  }

  /** One bucket. Permits are kept in nanos-of-refill units to stay exact in integers. */
  private static final class Bucket {
    private final long capacity;
    private final long nanosPerPermit;

    @GuardedBy("this")
    private long available;

    @GuardedBy("this")
    private long lastRefill;

    Bucket(RateLimit limit, LongSupplier ticker) {
      this.capacity = limit.permits();
      this.nanosPerPermit = Math.max(1, limit.per().toNanos() / limit.permits());
      this.available = capacity;
      this.lastRefill = ticker.getAsLong();
    }

    synchronized Optional<Duration> tryAcquire(long now) {
      long elapsed = now - lastRefill;
      long refilled = elapsed / nanosPerPermit;
      if (refilled > 0) {
        available = Math.min(capacity, available + refilled);
        // Keep the remainder so refill is exact over time, but never bank beyond capacity.
        lastRefill = available == capacity ? now : lastRefill + refilled * nanosPerPermit;
      }
      if (available > 0) {
        available--;
        return Optional.empty();
      }
      long wait = nanosPerPermit - (now - lastRefill);
      return Optional.of(Duration.ofNanos(Math.max(1, wait)));
    }
  }
}
