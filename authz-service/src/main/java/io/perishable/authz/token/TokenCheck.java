package io.perishable.authz.token;

import io.perishable.authz.DenialReason;

/** The outcome of verifying a token string. */
public sealed interface TokenCheck {
  /** Signature and time checks passed: the claims can be trusted. */
  record Valid(VerifiedToken claims) implements TokenCheck {}

  /**
   * Refused. {@code claims} is set when the signature verified (an expired token still names
   * its id and agent, which the audit trail wants); null otherwise.
   */
  record Invalid(DenialReason reason, String detail, VerifiedToken claims) implements TokenCheck {}
}
