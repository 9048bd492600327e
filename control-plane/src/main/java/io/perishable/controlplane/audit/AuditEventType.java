package io.perishable.controlplane.audit;

/**
 * What an audit record is about. Each type's {@link #wireName()} is the {@code type} value in
 * the canonical JSON (docs/audit-log.md); wire names never change once written.
 */
public enum AuditEventType {
  /** A token was minted; carries token, agent and parent token ids. */
  ISSUED("issued"),
  /** An authz replica allowed a request made with a token. */
  USED("used"),
  /** An authz replica refused a request; {@code reason_code} says why. */
  DENIED("denied"),
  /** A revocation rule was recorded; {@code selector} and {@code reason} say what and why. */
  REVOKED("revoked"),
  /** A token's expiry passed. */
  EXPIRED("expired"),
  /** The upstream answered a request (from Envoy's access log): status and latency. */
  RESPONSE("response"),
  /**
   * An authz replica metered the response to a request it allowed (Envoy's ext_proc stream):
   * attribute {@code completion_hash} (SHA-256 of the response body, never the text), the
   * usage the provider reported and how the response ended; joined to {@code used} by
   * {@code request_id}.
   */
  COMPLETION("completion"),
  /**
   * A signed statement of the chain head, written only by the log itself: {@code
   * checkpoint_seq} and {@code checkpoint_hash} name the record before it, {@code key_id} and
   * {@code signature} the Ed25519 checkpoint key and its signature.
   */
  CHECKPOINT("checkpoint"),
  /** A token-signing key was created or retired; {@code key_id} names it. */
  KEY_ROTATED("key_rotated"),
  /**
   * The control plane leased part of a token's budget to an authz replica: {@code token_id},
   * {@code replica_id}; attributes {@code lease_id}, {@code amount}, {@code expires_at_ms} and,
   * when the token's agent has a per-period budget, the window it is charged to.
   */
  BUDGET_LEASED("budget_leased"),
  /**
   * A budget lease came back: attributes {@code lease_id}, {@code charged} (LLM tokens charged
   * for good) and {@code how} ({@code settled} by its replica, or {@code expired}).
   */
  BUDGET_RETURNED("budget_returned");

  private final String wireName;

  AuditEventType(String wireName) {
    this.wireName = wireName;
  }

  /** The lowercase name written in the {@code type} field. */
  public String wireName() {
    return wireName;
  }

  /** The type with this wire name, or null if there is none. */
  static AuditEventType fromWireName(String name) {
    for (AuditEventType t : values()) {
      if (t.wireName.equals(name)) {
        return t;
      }
    }
    return null;
  }
}
