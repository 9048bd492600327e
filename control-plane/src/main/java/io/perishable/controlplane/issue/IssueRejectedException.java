package io.perishable.controlplane.issue;

/** An Issue request that cannot be granted, with a message the caller can act on. */
public final class IssueRejectedException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** How the rejection maps onto a gRPC status. */
  public enum Kind {
    /** The request itself is wrong (malformed field, unknown scope, ttl over the limit). */
    INVALID_ARGUMENT,
    /** The request is well-formed but the caller may not have it. */
    PERMISSION_DENIED,
    /** The parent token presented for delegation is malformed, forged or expired. */
    UNAUTHENTICATED
  }

  private final Kind kind;
  private final String reason;

  public IssueRejectedException(Kind kind, String message) {
    this(kind, null, message);
  }

  /** @param reason a fixed code for the issuer-rejection metric, or null */
  public IssueRejectedException(Kind kind, String reason, String message) {
    super(message, null, false, false);
    this.kind = kind;
    this.reason = reason;
  }

  public Kind kind() {
    return kind;
  }

  /** The issuer-rejection metric's reason, or null when this is not about the issuer. */
  public String reason() {
    return reason;
  }

  static IssueRejectedException invalid(String message) {
    return new IssueRejectedException(Kind.INVALID_ARGUMENT, message);
  }

  static IssueRejectedException denied(String message) {
    return new IssueRejectedException(Kind.PERMISSION_DENIED, message);
  }

  static IssueRejectedException unauthenticated(String message) {
    return new IssueRejectedException(Kind.UNAUTHENTICATED, message);
  }
}
