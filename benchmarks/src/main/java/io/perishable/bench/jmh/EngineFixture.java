package io.perishable.bench.jmh;

import io.perishable.authz.body.RequestBodyInspector;
import io.perishable.authz.decision.DecisionEngine;
import io.perishable.authz.revocation.RevocationSet;
import io.perishable.authz.scope.PathPattern;
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
import io.perishable.token.SigningKey;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A {@link DecisionEngine} shaped like the local stack's: one trusted key, no revocation rules,
 * the {@code llm:complete} scope, an OpenAI upstream, the default body limits and a one-minute
 * max_staleness, on a clock that stands still (the token never expires mid-run). The one place
 * that knows how the engine is put together.
 */
public final class EngineFixture {
  private final TokenVerifier verifier;
  private final DecisionEngine engine;
  private final String token;

  public EngineFixture() {
    MutableClock clock = MutableClock.startingNow();
    SigningKey key = SigningKey.generate(clock.millis());
    KeyRing keys = new KeyRing();
    keys.replaceAll(Map.of(key.keyId(), key.rawPublicKey()));
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
    verifier = new TokenVerifier(keys, clock, Duration.ofSeconds(30), 100_000);
    engine = new DecisionEngine(
        verifier,
        // No revocation rules in force: the common case, and the cheapest lookup.
        new RevocationSet(),
        new ScopeCatalog(List.of(new ScopeDefinition("llm:complete", Set.of("POST"),
            List.of(PathPattern.compile("/v1/chat/completions"),
                PathPattern.compile("/v1/completions"), PathPattern.compile("/v1/messages")),
            Optional.empty()))),
        UpstreamCredentials.load(List.of(new UpstreamConfig("openai", Provider.OPENAI,
            Optional.empty(), Optional.of("OPENAI_KEY"), null)),
            Map.of("OPENAI_KEY", "sk-bench-openai")::get),
        new RequestBodyInspector(RequestBodyInspector.DEFAULT_MAX_DEPTH),
        synced,
        Optional.of(Duration.ofMinutes(1)));
    token = new TestTokens(key, clock).mint(c -> c.clearScopes().addScopes("llm:complete"));
  }

  public DecisionEngine engine() {
    return engine;
  }

  public TokenVerifier verifier() {
    return verifier;
  }

  /** A valid token for llm:complete and gpt-4o-mini, 256 tokens per request. */
  public String token() {
    return token;
  }
}
