package io.perishable.token;

import io.perishable.proto.v1.TokenClaims;
import java.security.PublicKey;

/**
 * A token split into the exact claim bytes that were signed, the signature, and the parsed
 * claims. The claims are untrusted until {@link #verifiedBy} returns true.
 */
public record DecodedToken(byte[] claimBytes, byte[] signature, TokenClaims claims) {
  /** True when the signature over the claim bytes verifies with {@code key}. */
  public boolean verifiedBy(PublicKey key) {
    return TokenSignatures.verify(key, claimBytes, signature);
  }
}
