package io.perishable.bench;

import io.perishable.authz.revocation.RevocationSet;
import io.perishable.authz.testing.MutableClock;
import io.perishable.authz.testing.TestTokens;
import io.perishable.authz.token.KeyRing;
import io.perishable.authz.token.TokenCheck;
import io.perishable.authz.token.TokenVerifier;
import io.perishable.proto.v1.RevocationRule;
import io.perishable.token.SigningKey;
import io.perishable.token.TokenIds;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Heap that authz-service holds per cached live token: a {@link TokenVerifier} sized for
 * exactly {@code n} tokens is filled with {@code n} distinct verified tokens (default claims:
 * one agent, two scopes, one model, a max-tokens ceiling, an upstream), and used heap after a
 * full GC is compared with the empty verifier's. The figure includes the cache key (the token's
 * digest; the request that brought the token is long gone), the claims and the cache's own
 * entry, table slot and frequency sketch. A second fill gives every token an agent of its own
 * (nothing to share), and a third measures a {@link RevocationSet} holding {@code n} token-id
 * rules as the control plane pushes them, per rule.
 *
 * <p>Run in a JVM of its own with {@code -XX:+UseSerialGC} for a steady figure ({@code main});
 * {@link #measure} also works in-process, less precisely.
 */
public final class HeapPerToken {
  /** What was measured. */
  public record Result(int tokens, long cached, double bytesPerToken, int rejected,
      double bytesPerTokenOwnAgent, double bytesPerRevocation) {}

  private HeapPerToken() {}

  /**
   * Prints {@code tokens cached bytesPerToken rejected bytesPerTokenOwnAgent
   * bytesPerRevocation} for {@code n} = args[0].
   */
  public static void main(String[] args) {
    Result result = measure(Integer.parseInt(args[0]));
    System.out.println(result.tokens() + " " + result.cached() + " " + result.bytesPerToken()
        + " " + result.rejected() + " " + result.bytesPerTokenOwnAgent() + " "
        + result.bytesPerRevocation());
  }

  /** All three measurements for {@code n} tokens and {@code n} rules. */
  public static Result measure(int n) {
    Fill shared = fill(n, false);
    Fill own = fill(n, true);
    return new Result(n, Math.min(shared.cached, own.cached), shared.bytesPerToken,
        shared.rejected + own.rejected, own.bytesPerToken, perRevocation(n));
  }

  private record Fill(long cached, double bytesPerToken, int rejected) {}

  /** Fills a verifier with {@code n} tokens and returns the heap it grew by, per token. */
  private static Fill fill(int n, boolean agentPerToken) {
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
      String token = agentPerToken ? tokens.mint(c -> c.setAgentId(TokenIds.random()))
          : tokens.mint();
      if (!(verifier.verify(token) instanceof TokenCheck.Valid)) {
        rejected++;
      }
    }
    long cached = verifier.cachedTokens();
    long after = usedHeapAfterGc();
    // The verifier must still be reachable when the heap is measured.
    long stillCached = verifier.cachedTokens();
    return new Fill(Math.min(cached, stillCached),
        cached == 0 ? Double.NaN : (after - before) / (double) cached, rejected);
  }

  /**
   * Fills a {@link RevocationSet} with {@code n} token-id rules like the control plane's (rule
   * id, token id, a reason of its own, expiry, creation time) and returns its growth per rule.
   */
  private static double perRevocation(int n) {
    RevocationSet revocations = new RevocationSet();
    long before = usedHeapAfterGc();
    long now = System.currentTimeMillis();
    List<RevocationRule> batch = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      batch.add(RevocationRule.newBuilder().setRuleId("rvk_" + TokenIds.random())
          .setTokenId(TokenIds.random()).setReason("leaked in CI logs #" + i)
          .setCreatedAtMs(now).setExpiresAtMs(now + 3_600_000).build());
      // Deltas arrive one Revoke at a time; batches only keep the fill from being quadratic.
      if (batch.size() == 500 || i == n - 1) {
        revocations.addAll(batch);
        batch = new ArrayList<>();
      }
    }
    long after = usedHeapAfterGc();
    return revocations.size() == 0 ? Double.NaN
        : (after - before) / (double) revocations.size();
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
