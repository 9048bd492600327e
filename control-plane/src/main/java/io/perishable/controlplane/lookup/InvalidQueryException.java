package io.perishable.controlplane.lookup;

/** A ListTokens request that cannot be answered (bad page token or size). */
public final class InvalidQueryException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public InvalidQueryException(String message) {
    super(message, null, false, false);
  }
}
