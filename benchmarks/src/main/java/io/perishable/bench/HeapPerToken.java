package io.perishable.bench;

import io.perishable.authz.testing.MutableClock;
import io.perishable.authz.testing.TestTokens;
import io.perishable.authz.token.KeyRing;
import io.perishable.authz.token.TokenCheck;
import io.perishable.authz.token.TokenVerifier;
import io.perishable.token.SigningKey;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.time.Duration;
import java.util.Map;

/**
 * Heap that authz-service holds per cached live token: a {@link TokenVerifier} sized for
 * exactly {@code n} tokens is filled with {@code n} distinct verified tokens (default claims:
 * two scopes, one model, a max-tokens ceiling, an upstream), and used heap after a full GC is
 * compared with the empty verifier's. The figure includes the token string (the cache key; the
 * request that brought it is long gone), the decoded claims and the cache's own entry, table
 * slot and frequency sketch.
 *
 * <p>Run in a JVM of its own with {@code -XX:+UseSerialGC} for a steady figure ({@code main});
 * {@link #measure} also works in-process, less precisely.
 */
public final class HeapPerToken {
  /** What was measured. */
  public record Result(int tokens, long cached, double bytesPerToken, int rejected) {}

  private HeapPerToken() {}

  /** Prints {@code tokens cached bytesPerToken rejected} for {@code n} = args[0]. */
  public static void main(String[] args) {
    Result result = measure(Integer.parseInt(args[0]));
    System.out.println(result.tokens() + " " + result.cached() + " " + result.bytesPerToken()
        + " " + result.rejected());
  }

  /** Fills a verifier with {@code n} tokens and returns the heap it grew by, per token. */
  public static Result measure(int n) {
    MutableClock clock = MutableClock.startingNow();
    SigningKey key = SigningKey.generate(clock.millis());
    KeyRing keys = new KeyRing();
    keys.replaceAll(Map.of(key.keyId(), key.rawPublicKey()));
    TestTokens tokens = new TestTokens(key, clock);
    TokenVerifier verifier = new TokenVerifier(keys, clock, Duration.ofSeconds(30), n);

    // Load and initialise everything once, so the baseline holds the classes and buffers.
    for (int i = 0; i < 64; i++) {
      verifier.verify(tokens.mint());
    }
    verifier.invalidateAll();
    verifier.cachedTokens();

    long before = usedHeapAfterGc();
    int rejected = 0;
    for (int i = 0; i < n; i++) {
      // Nothing outside the cache keeps the token string.
      if (!(verifier.verify(tokens.mint()) instanceof TokenCheck.Valid)) {
        rejected++;
      }
    }
    long cached = verifier.cachedTokens();
    long after = usedHeapAfterGc();
    // The verifier must still be reachable when the heap is measured.
    long stillCached = verifier.cachedTokens();
    return new Result(n, Math.min(cached, stillCached),
        cached == 0 ? Double.NaN : (after - before) / (double) cached, rejected);
  }

  private static long usedHeapAfterGc() {
    MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
    long used = Long.MAX_VALUE;
    for (int i = 0; i < 4; i++) {
      System.gc();
      try {
        Thread.sleep(50);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
      used = Math.min(used, memory.getHeapMemoryUsage().getUsed());
    }
    return used;
  }
}
