package io.perishable.controlplane.issue;

import io.perishable.controlplane.keys.SigningKeyStore;
import io.perishable.controlplane.revocation.RevocationRules;
import io.perishable.proto.v1.RevocationRule;
import io.perishable.proto.v1.TokenClaims;
import io.perishable.token.DecodedToken;
import io.perishable.token.MalformedTokenException;
import io.perishable.token.SigningKey;
import io.perishable.token.TokenCodec;
import java.time.Instant;
import java.util.Optional;

/**
 * Checks the parent token a delegated Issue presents, with the control plane's own signing
 * keys: well-formed, signed by one of our keys, unexpired (no clock-skew allowance: the issuer
 * is the clock of record) and not covered by a revocation rule. Errors say which check failed
 * and never echo the token.
 */
public final class ParentTokenVerifier {
  private final SigningKeyStore keys;
  private final RevocationRules rules;

  public ParentTokenVerifier(SigningKeyStore keys, RevocationRules rules) {
    this.keys = keys;
    this.rules = rules;
  }

  /**
   * The parent's claims; throws {@link IssueRejectedException} (UNAUTHENTICATED for a
   * malformed, forged or expired parent, PERMISSION_DENIED for a revoked one).
   */
  public TokenClaims verify(String parentToken, long nowMs) {
    DecodedToken decoded;
    try {
      decoded = TokenCodec.decode(parentToken);
    } catch (MalformedTokenException e) {
      throw IssueRejectedException.unauthenticated("parent_token is malformed: " + e.getMessage());
    }
    TokenClaims claims = decoded.claims();
    Optional<SigningKey> key = keys.all().stream()
        .filter(k -> k.keyId().equals(claims.getKeyId()))
        .findFirst();
    if (key.isEmpty()) {
      throw IssueRejectedException.unauthenticated(
          "parent_token was not signed by any of this control plane's keys");
    }
    if (!decoded.verifiedBy(key.get().publicKey())) {
      throw IssueRejectedException.unauthenticated(
          "parent_token's signature does not verify: it was forged or altered");
    }
    if (nowMs >= claims.getExpiresAtMs()) {
      throw IssueRejectedException.unauthenticated("parent_token " + claims.getTokenId()
          + " expired at " + Instant.ofEpochMilli(claims.getExpiresAtMs()));
    }
    Optional<RevocationRule> revoked = rules.firstMatch(claims, nowMs);
    if (revoked.isPresent()) {
      throw IssueRejectedException.denied("parent_token " + claims.getTokenId()
          + " is revoked (rule " + revoked.get().getRuleId() + "): "
          + (revoked.get().getReason().isEmpty() ? "no reason given"
              : revoked.get().getReason()));
    }
    return claims;
  }
}
