package io.perishable.authz.token;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import io.perishable.authz.DenialReason;
import io.perishable.authz.testing.MutableClock;
import io.perishable.authz.testing.TestTokens;
import io.perishable.token.SigningKey;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The verified cache: keyed by the whole token, and never a way around expiry or key trust. */
class TokenVerifierTest {
  private static final Duration SKEW = Duration.ofSeconds(30);

  private final MutableClock clock = MutableClock.startingNow();
  private final SigningKey key = SigningKey.generate(clock.millis());
  private final TestTokens tokens = new TestTokens(key, clock);
  private final KeyRing keys = new KeyRing();
  private final TokenVerifier verifier = new TokenVerifier(keys, clock, SKEW, 100);

  TokenVerifierTest() {
    keys.replaceAll(Map.of(key.keyId(), key.rawPublicKey()));
  }

  private VerifiedToken valid(String token) {
    return assertInstanceOf(TokenCheck.Valid.class, verifier.verify(token)).claims();
  }

  private DenialReason invalid(String token) {
    return assertInstanceOf(TokenCheck.Invalid.class, verifier.verify(token)).reason();
  }

  @Test
  void verify_sameTokenTwice_signatureCheckedOnce() {
    String token = tokens.mint();
    valid(token);
    valid(token);
    assertEquals(1, verifier.signatureChecks());
    assertEquals(1, verifier.cachedTokens());
  }

  @Test
  void verify_eachTokenGetsItsOwnClaimsFromTheCache() {
    String first = tokens.mint();
    String second = tokens.mint();
    String firstId = valid(first).tokenId();
    String secondId = valid(second).tokenId();
    assertNotEquals(firstId, secondId);
    assertEquals(firstId, valid(first).tokenId());
    assertEquals(secondId, valid(second).tokenId());
  }

  @Test
  void verify_cachedTokenWithOneSignatureCharacterChanged_refused() {
    String token = tokens.mint();
    valid(token);
    int i = token.length() - 20;
    String tampered = token.substring(0, i) + (token.charAt(i) == 'A' ? 'B' : 'A')
        + token.substring(i + 1);
    assertEquals(DenialReason.TOKEN_BAD_SIGNATURE, invalid(tampered));
  }

  @Test
  void verify_cachedTokenPastExpiryPlusSkew_expired() {
    String token = tokens.mint();
    valid(token);
    clock.advance(Duration.ofMinutes(10).plus(SKEW).minusMillis(1));
    valid(token);
    clock.advance(Duration.ofMillis(1));
    assertEquals(DenialReason.TOKEN_EXPIRED, invalid(token));
  }

  @Test
  void verify_cachedTokenWhoseKeyWasRemoved_unknownKey() {
    String token = tokens.mint();
    valid(token);
    keys.update(Map.of(), Set.of(key.keyId()));
    assertEquals(DenialReason.TOKEN_UNKNOWN_KEY, invalid(token));
  }

  @Test
  void verify_nonAsciiCharacter_malformedAndNotCached() {
    String token = tokens.mint();
    String withNonAscii = token.substring(0, 10) + "\u00e9" + token.substring(11);
    assertEquals(DenialReason.TOKEN_MALFORMED, invalid(withNonAscii));
    assertEquals(0, verifier.cachedTokens());
  }

  @Test
  void verify_tokensOfOneAgentAndGrant_shareTheirValues() {
    VerifiedToken first = valid(tokens.mint());
    VerifiedToken second = valid(tokens.mint());
    assertSame(first.agentId(), second.agentId());
    assertSame(first.scopes(), second.scopes());
    assertSame(first.models(), second.models());
    assertSame(first.upstream(), second.upstream());
    assertSame(first.keyId(), second.keyId());
  }
}
