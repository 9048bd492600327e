package io.perishable.token;

import java.security.SecureRandom;
import java.util.Base64;

/** Random token ids: 128 bits as 22 characters of unpadded base64url, starting alphanumeric. */
public final class TokenIds {
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final Base64.Encoder ENCODER = Base64.getUrlEncoder().withoutPadding();

  private TokenIds() {}

  /**
   * A new id. Never starts with {@code -} or {@code _}: an id is pasted into command lines,
   * where a leading dash reads as an option.
   */
  public static String random() {
    byte[] bytes = new byte[16];
    while (true) {
      RANDOM.nextBytes(bytes);
      String id = ENCODER.encodeToString(bytes);
      if (Character.isLetterOrDigit(id.charAt(0))) {
        return id;
      }
    }
  }
}
