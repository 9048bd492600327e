package io.perishable.token;

import java.nio.charset.StandardCharsets;

/** Constants of the wire format, in one place. */
public final class TokenFormat {
  /** Every token starts with this; it lets secret scanners recognise leaked tokens. */
  public static final String PREFIX = "prs_";

  /**
   * Signed before the claim bytes, so a signature made for a token can never be replayed as a
   * signature over anything else the same key might sign.
   */
  static final byte[] SIGNATURE_DOMAIN = "perishable-token-v1\0".getBytes(StandardCharsets.US_ASCII);

  /**
   * Longest token string accepted. Real tokens are a few hundred characters; the bound keeps
   * decoding cheap and caps what an attacker can make us hash and cache.
   */
  public static final int MAX_TOKEN_CHARS = 4096;

  /** Length of an Ed25519 signature in bytes. */
  static final int SIGNATURE_BYTES = 64;

  private TokenFormat() {}
}
