package io.perishable.token;

import java.security.SecureRandom;
import java.util.Base64;

/** Random token ids: 128 bits as 22 characters of unpadded base64url. */
public final class TokenIds {
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final Base64.Encoder ENCODER = Base64.getUrlEncoder().withoutPadding();

  private TokenIds() {}

  public static String random() {
    byte[] bytes = new byte[16];
    RANDOM.nextBytes(bytes);
    return ENCODER.encodeToString(bytes);
  }
}
