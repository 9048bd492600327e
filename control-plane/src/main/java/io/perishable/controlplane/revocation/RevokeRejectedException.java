package io.perishable.controlplane.revocation;

/** A Revoke request that cannot be carried out, with a message the caller can act on. */
public final class RevokeRejectedException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** How the rejection maps onto a gRPC status. */
  public enum Kind {
    /** No selector, several, or a contradictory one. */
    INVALID_ARGUMENT,
    /** The token id is not in the index. */
    NOT_FOUND
  }

  private final Kind kind;

  public RevokeRejectedException(Kind kind, String message) {
    super(message, null, false, false);
    this.kind = kind;
  }

  public Kind kind() {
    return kind;
  }

  static RevokeRejectedException invalid(String message) {
    return new RevokeRejectedException(Kind.INVALID_ARGUMENT, message);
  }
}
