package io.perishable.authz.decision;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import io.perishable.authz.DenialReason;
import io.perishable.authz.testing.MutableClock;
import io.perishable.authz.testing.TestTokens;
import io.perishable.token.SigningKey;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/** Fail closed when decisions cannot be recorded: nothing is served that the audit misses. */
class AuditGateDecisionTest {
  private final MutableClock clock = new MutableClock(Instant.parse("2026-11-24T12:00:00Z"));
  private final TestTokens tokens = new TestTokens(SigningKey.generate(clock.millis()), clock);
  private final AtomicBoolean recording = new AtomicBoolean(true);
  private final DecisionEngine engine;

  AuditGateDecisionTest() {
    engine = SingleScopeEngine.build(tokens, clock, Optional.empty(), null, recording::get);
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
