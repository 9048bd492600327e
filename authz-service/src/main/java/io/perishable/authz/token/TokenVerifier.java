package io.perishable.authz.token;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import io.perishable.authz.DenialReason;
import io.perishable.proto.v1.TokenClaims;
import io.perishable.token.DecodedToken;
import io.perishable.token.MalformedTokenException;
import io.perishable.token.TokenCodec;
import java.security.PublicKey;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * Verifies tokens: format, signature against the {@link KeyRing}, and validity window with a
 * clock-skew allowance. Tokens that verify are cached by their string until they expire, so a
 * token pays for Ed25519 once. Every cache hit still re-checks expiry and that its key is still
 * trusted: the cache saves work, it never extends trust.
 */
public final class TokenVerifier {
  private final KeyRing keys;
  private final Clock clock;
  private final long skewMs;
  private final Cache<String, TokenClaims> verified;
  private final LongAdder signatureChecks = new LongAdder();

  /**
   * @param clockSkew how far our clock may disagree with the control plane's
   * @param cacheSize most tokens kept verified at once
   */
  public TokenVerifier(KeyRing keys, Clock clock, Duration clockSkew, long cacheSize) {
    this.keys = keys;
    this.clock = clock;
    this.skewMs = clockSkew.toMillis();
    this.verified = Caffeine.newBuilder()
        .maximumSize(cacheSize)
        .ticker(() -> TimeUnit.MILLISECONDS.toNanos(clock.millis()))
        .expireAfter(new Expiry<String, TokenClaims>() {
          @Override
          public long expireAfterCreate(String token, TokenClaims claims, long now) {
            long remainingMs = claims.getExpiresAtMs() + skewMs - clock.millis();
            return TimeUnit.MILLISECONDS.toNanos(Math.max(0, remainingMs));
          }

          @Override
          public long expireAfterUpdate(String t, TokenClaims c, long now, long current) {
            return current;
          }

          @Override
          public long expireAfterRead(String t, TokenClaims c, long now, long current) {
            return current;
          }
        })
        .build();
  }

  /** Verifies {@code token} at the injected clock's current time. */
  public TokenCheck verify(String token) {
    long now = clock.millis();
    TokenClaims cached = verified.getIfPresent(token);
    if (cached != null) {
      if (keys.get(cached.getKeyId()).isEmpty()) {
        verified.invalidate(token);
        return new TokenCheck.Invalid(DenialReason.TOKEN_UNKNOWN_KEY,
            "the key that signed this token is no longer trusted", null);
      }
      return checkTime(cached, now);
    }

    DecodedToken decoded;
    try {
      decoded = TokenCodec.decode(token);
    } catch (MalformedTokenException e) {
      return new TokenCheck.Invalid(DenialReason.TOKEN_MALFORMED, e.getMessage(), null);
    }
    Optional<PublicKey> key = keys.get(decoded.claims().getKeyId());
    if (key.isEmpty()) {
      return new TokenCheck.Invalid(DenialReason.TOKEN_UNKNOWN_KEY,
          "the token was signed by a key this service does not trust", null);
    }
    signatureChecks.increment();
    if (!decoded.verifiedBy(key.get())) {
      return new TokenCheck.Invalid(DenialReason.TOKEN_BAD_SIGNATURE,
          "the token's signature does not verify", null);
    }
    TokenClaims claims = decoded.claims();
    TokenCheck check = checkTime(claims, now);
    if (check instanceof TokenCheck.Valid) {
      verified.put(token, claims);
    }
    return check;
  }

  private TokenCheck checkTime(TokenClaims claims, long now) {
    if (now >= claims.getExpiresAtMs() + skewMs) {
      return new TokenCheck.Invalid(DenialReason.TOKEN_EXPIRED, "the token has expired", claims);
    }
    if (claims.getIssuedAtMs() > now + skewMs) {
      return new TokenCheck.Invalid(DenialReason.TOKEN_NOT_YET_VALID,
          "the token's issue time lies in the future; check this host's clock", claims);
    }
    return new TokenCheck.Valid(claims);
  }

  /** Drops every cached verification (after keys were removed). */
  public void invalidateAll() {
    verified.invalidateAll();
  }

  /** Ed25519 verifications performed so far (cache misses that reached the signature). */
  public long signatureChecks() {
    return signatureChecks.sum();
  }

  /** Tokens currently cached as verified. */
  public long cachedTokens() {
    verified.cleanUp();
    return verified.estimatedSize();
  }
}
