package io.perishable.token;

import java.security.GeneralSecurityException;
import java.security.PublicKey;
import java.security.Signature;

/** Ed25519 verification of a token's claim bytes. */
public final class TokenSignatures {
  private TokenSignatures() {}

  /** True when {@code signature} is a valid signature of {@code domain || claimBytes}. */
  public static boolean verify(PublicKey key, byte[] claimBytes, byte[] signature) {
    if (signature.length != TokenFormat.SIGNATURE_BYTES) {
      return false;
    }
    try {
      Signature verifier = Signature.getInstance("Ed25519");
      verifier.initVerify(key);
      verifier.update(TokenFormat.SIGNATURE_DOMAIN);
      verifier.update(claimBytes);
      return verifier.verify(signature);
    } catch (GeneralSecurityException e) {
      // A malformed signature or key is a failed verification, never an escaping exception.
      return false;
    }
  }
}
