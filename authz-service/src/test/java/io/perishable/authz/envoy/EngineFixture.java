package io.perishable.authz.envoy;

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

/** A real engine with one trusted key, one scope and one OpenAI upstream. */
final class EngineFixture {
  static final String OPENAI_KEY = "sk-real-openai";

  final MutableClock clock = MutableClock.startingNow();
  final SigningKey key = SigningKey.generate(clock.millis());
  final TestTokens tokens = new TestTokens(key, clock);
  final RevocationSet revocations = new RevocationSet();
  final DecisionEngine engine;

  EngineFixture() {
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
    engine = new DecisionEngine(
        new TokenVerifier(keys, clock, Duration.ofSeconds(30), 100),
        revocations,
        new ScopeCatalog(List.of(new ScopeDefinition("llm:complete", Set.of("POST"),
            List.of(PathPattern.compile("/v1/chat/completions")), Optional.empty()))),
        UpstreamCredentials.load(List.of(new UpstreamConfig("openai", Provider.OPENAI,
            Optional.empty(), Optional.of("K"), null)), Map.of("K", OPENAI_KEY)::get),
        new RequestBodyInspector(64), synced, Optional.empty());
  }

  static DecisionEngine engine() {
    return new EngineFixture().engine;
  }
}
