package io.perishable.token;

/**
 * The string is not a well-formed perishable token. The message says what is wrong and never
 * contains the token itself.
 */
public final class MalformedTokenException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public MalformedTokenException(String message) {
    // No stack trace: malformed tokens are attacker input, and they should be cheap to refuse.
    super(message, null, false, false);
  }
}
