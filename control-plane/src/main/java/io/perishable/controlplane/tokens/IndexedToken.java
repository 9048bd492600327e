package io.perishable.controlplane.tokens;

import io.perishable.proto.v1.TokenClaims;

/**
 * A minted token as the index keeps it: its claims (never the token string, which is a
 * bearer secret) and who minted it.
 *
 * @param claims the signed claims
 * @param mintedBy the issuer id, or {@code token:<parent id>} for a child minted with a parent
 *     token and no issuer secret
 */
public record IndexedToken(TokenClaims claims, String mintedBy) {
  public String tokenId() {
    return claims.getTokenId();
  }

  /** 0 for a root token, 1 for its children, and so on. */
  public int depth() {
    return claims.getAncestorIdsCount();
  }
}
