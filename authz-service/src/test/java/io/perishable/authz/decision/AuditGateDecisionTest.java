package io.perishable.authz.decision;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import io.perishable.authz.DenialReason;
import io.perishable.authz.body.RequestBodyInspector;
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
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/** Fail closed when decisions cannot be recorded: nothing is served that the audit misses. */
class AuditGateDecisionTest {
  private final MutableClock clock = new MutableClock(Instant.parse("2026-11-24T12:00:00Z"));
  private final TestTokens tokens = new TestTokens(SigningKey.generate(clock.millis()), clock);
  private final AtomicBoolean recording = new AtomicBoolean(true);
  private final DecisionEngine engine;

  AuditGateDecisionTest() {
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
    engine = new DecisionEngine(new TokenVerifier(keys, clock, Duration.ofSeconds(30), 100),
        new RevocationSet(),
        new ScopeCatalog(List.of(new ScopeDefinition("llm:complete", Set.of("POST"),
            List.of(PathPattern.compile("/v1/chat/completions")), Optional.empty()))),
        UpstreamCredentials.load(List.of(new UpstreamConfig("openai", Provider.OPENAI,
            Optional.empty(), Optional.of("K"), null)), Map.of("K", "sk-real")::get),
        new RequestBodyInspector(64), synced, Optional.empty(), null, recording::get);
  }

  private Decision chat() {
    return engine.decide(Requests.post("/v1/chat/completions").bearer(tokens.mint())
        .chat("gpt-4o-mini", 10).build());
  }

  @Test
  void check_whileDecisionsCannotBeRecorded_denied503AuditUnavailable() {
    assertInstanceOf(Decision.Allow.class, chat());
    recording.set(false);
    Decision.Deny deny = assertInstanceOf(Decision.Deny.class, chat());
    assertEquals(DenialReason.AUDIT_UNAVAILABLE, deny.reason());
    assertEquals(503, deny.reason().httpStatus());
    recording.set(true);
    assertInstanceOf(Decision.Allow.class, chat());
  }
}
