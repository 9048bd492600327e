package io.perishable.authz.decision;

import io.perishable.authz.body.RequestBodyInspector;
import io.perishable.authz.ratelimit.RateLimiter;
import io.perishable.authz.revocation.RevocationSet;
import io.perishable.authz.scope.PathPattern;
import io.perishable.authz.scope.RateLimit;
import io.perishable.authz.scope.ScopeCatalog;
import io.perishable.authz.scope.ScopeDefinition;
import io.perishable.authz.sync.SyncStatus;
import io.perishable.authz.testing.MutableClock;
import io.perishable.authz.testing.TestTokens;
import io.perishable.authz.token.KeyRing;
import io.perishable.authz.token.TokenVerifier;
import io.perishable.authz.upstream.Provider;
import io.perishable.authz.upstream.UpstreamConfig;
import io.perishable.authz.upstream.UpstreamCredentials;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.BooleanSupplier;

/**
 * A real engine with one trusted key, one scope ({@code llm:complete}: POST
 * /v1/chat/completions, with an optional rate limit) and one OpenAI upstream, always in sync.
 */
final class SingleScopeEngine {
  private SingleScopeEngine() {}

  static DecisionEngine build(TestTokens tokens, MutableClock clock,
      Optional<RateLimit> rateLimit, RateLimiter limiter, BooleanSupplier recording) {
    KeyRing keys = new KeyRing();
    keys.replaceAll(Map.of(tokens.key().keyId(), tokens.key().rawPublicKey()));
    SyncStatus synced = new SyncStatus() {
      @Override
      public boolean hasSnapshot() {
        return true;
      }

      @Override
      public Duration silence() {
        return Duration.ZERO;
      }
    };
    return new DecisionEngine(new TokenVerifier(keys, clock, Duration.ofSeconds(30), 100),
        new RevocationSet(),
        new ScopeCatalog(List.of(new ScopeDefinition("llm:complete", Set.of("POST"),
            List.of(PathPattern.compile("/v1/chat/completions")), rateLimit))),
        UpstreamCredentials.load(List.of(new UpstreamConfig("openai", Provider.OPENAI,
            Optional.empty(), Optional.of("K"), null)), Map.of("K", "sk-real")::get),
        new RequestBodyInspector(64), synced, Optional.empty(), limiter, recording);
  }
}
