package io.perishable.controlplane.budget;

/** A budget operation refused for a reason the caller can act on; the message says which. */
public final class BudgetRejectedException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** Why, as a stable code. */
  public enum Code {
    /** The token has no budget account (issued without a budget, or unknown). */
    UNKNOWN_TOKEN,
    /** The lease id is not outstanding: returned already, expired, or never granted. */
    UNKNOWN_LEASE,
    /** A figure out of range: negative, or more used than was leased. */
    INVALID_AMOUNT,
    /** A child's budget would exceed what its parent has available. */
    EXCEEDS_PARENT,
    /** The account exists already. */
    DUPLICATE_ACCOUNT,
    /** The agent has no per-period budget. */
    UNKNOWN_AGENT
  }

  private final Code code;

  BudgetRejectedException(Code code, String message) {
    super(message);
    this.code = code;
  }

  public Code code() {
    return code;
  }
}
