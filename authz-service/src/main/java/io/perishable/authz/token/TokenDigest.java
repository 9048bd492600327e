package io.perishable.authz.token;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * The verified cache's key: the SHA-256 of a token string, whole (256 bits), instead of the
 * ~300-character string itself. A cache hit hands out the claims of the token that was
 * verified, so two different strings must never share a key: with the full SHA-256, finding a
 * string with the digest of a cached token is a second preimage (2^256 work), and only tokens
 * whose signature verified are ever cached. Only strings of ASCII characters get a digest, so
 * the bytes hashed are exactly the string's characters.
 */
record TokenDigest(long a, long b, long c, long d) {
  private static final ThreadLocal<MessageDigest> SHA_256 = ThreadLocal.withInitial(() -> {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java runtime has SHA-256", e);
    }
  });

  /** The digest of {@code token}, or null if it holds a character outside ASCII. */
  static TokenDigest of(String token) {
    byte[] bytes = new byte[token.length()];
    for (int i = 0; i < bytes.length; i++) {
      char c = token.charAt(i);
      if (c > 0x7f) {
        return null;
      }
      bytes[i] = (byte) c;
    }
    ByteBuffer digest = ByteBuffer.wrap(SHA_256.get().digest(bytes));
    return new TokenDigest(digest.getLong(), digest.getLong(), digest.getLong(),
        digest.getLong());
  }
}
