package io.perishable.authz.token;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import io.perishable.authz.DenialReason;
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
 * clock-skew allowance. Tokens that verify are cached until they expire, so a token pays for
 * Ed25519 once. Every cache hit still re-checks expiry and that its key is still trusted: the
 * cache saves work, it never extends trust.
 *
 * <p>The cache holds, per token, its SHA-256 ({@link TokenDigest}, not the string) and its
 * compact {@link VerifiedToken} (not the protobuf): under 300 bytes of heap per live token
 * ({@code bench/run} measures it).
 */
public final class TokenVerifier {
  private final KeyRing keys;
  private final Clock clock;
  private final long skewMs;
  private final Cache<TokenDigest, VerifiedToken> verified;
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
        .expireAfter(new Expiry<TokenDigest, VerifiedToken>() {
          @Override
          public long expireAfterCreate(TokenDigest token, VerifiedToken claims, long now) {
            long remainingMs = claims.expiresAtMs() + skewMs - clock.millis();
            return TimeUnit.MILLISECONDS.toNanos(Math.max(0, remainingMs));
          }

          @Override
          public long expireAfterUpdate(TokenDigest t, VerifiedToken c, long now, long current) {
            return current;
          }

          @Override
          public long expireAfterRead(TokenDigest t, VerifiedToken c, long now, long current) {
            return current;
          }
        })
        .build();
  }

  /** Verifies {@code token} at the injected clock's current time. */
  public TokenCheck verify(String token) {
    long now = clock.millis();
    TokenDigest digest = TokenDigest.of(token);
    VerifiedToken cached = digest == null ? null : verified.getIfPresent(digest);
    if (cached != null) {
      if (keys.get(cached.keyId()).isEmpty()) {
        verified.invalidate(digest);
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
    VerifiedToken claims = VerifiedToken.of(decoded.claims());
    TokenCheck check = checkTime(claims, now);
    // A non-ASCII string never decodes, so a token that verified always has a digest.
    if (check instanceof TokenCheck.Valid && digest != null) {
      verified.put(digest, claims);
    }
    return check;
  }

  private TokenCheck checkTime(VerifiedToken claims, long now) {
    if (now >= claims.expiresAtMs() + skewMs) {
      return new TokenCheck.Invalid(DenialReason.TOKEN_EXPIRED, "the token has expired", claims);
    }
    if (claims.issuedAtMs() > now + skewMs) {
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
