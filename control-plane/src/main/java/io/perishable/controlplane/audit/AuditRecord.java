package io.perishable.controlplane.audit;

import java.util.Collections;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import javax.annotation.Nullable;

/**
 * One entry of the audit chain: an immutable, sealed record as it sits in the log.
 *
 * <p>Callers never build a sealed record themselves: they fill an {@link #builder(AuditEventType)
 * AuditRecord.Builder} with the event's fields and hand it to {@link AuditLog#append}, which
 * assigns {@link #seq()}, {@link #timeMs()}, {@link #prevHash()} and {@link #hash()}. Every
 * optional field is null when absent (absent fields are omitted from the canonical bytes), and
 * an empty string is the same as absent.
 *
 * <p><b>No secrets.</b> Records name tokens by their token <em>id</em> (the 22-character id
 * inside the claims), never by the {@code prs_…} token itself, and carry a hash of the request
 * body ({@link #hashPrompt(byte[])}), never the prompt. The constructor refuses any string
 * field or attribute value that starts with {@code prs_}, a {@code prompt_hash} that is not
 * lowercase hex, and a {@value #COMPLETION_HASH_ATTRIBUTE} attribute that is not a SHA-256 in
 * hex, so a token, a prompt or a completion cannot slip into the permanent log by mistake.
 *
 * <p>The byte-exact encoding ({@link #canonicalBytes()}), the chain rule {@code hash =
 * BLAKE3(prev_hash ‖ canonical bytes)} and the JSONL export line ({@link #exportLine()}) are
 * specified in {@code docs/audit-log.md}.
 *
 * @param seq position in the chain, from 1, without gaps
 * @param timeMs when the log appended the record (epoch milliseconds; never decreases)
 * @param type what happened
 * @param tokenId id of the token concerned (never the token)
 * @param agentId the token's agent
 * @param parentTokenId id of the token's parent, for delegated tokens
 * @param endpoint the request's normalized path, e.g. {@code /v1/chat/completions}
 * @param method the request's HTTP method
 * @param model the {@code model} named in the request body
 * @param promptHash lowercase hex SHA-256 of the request body ({@link #hashPrompt(byte[])})
 * @param reasonCode machine-readable denial reason, e.g. {@code model_not_allowed}
 * @param status HTTP status returned (by authz on denial, by the upstream on response)
 * @param latencyUs latency in microseconds (authz decision or upstream response)
 * @param requestId Envoy's {@code x-request-id}, joining decision and response records
 * @param replicaId the authz-service replica that decided
 * @param selector what a revocation selects, e.g. {@code token_id=…} or {@code agent=…}
 * @param reason a person's reason, e.g. the one given to Revoke
 * @param keyId a key id: the new or retired signing key (KEY_ROTATED), the checkpoint key
 *     (CHECKPOINT)
 * @param checkpointSeq CHECKPOINT only: the seq of the head it signs ({@code seq - 1})
 * @param checkpointHash CHECKPOINT only: the hash of that head (equal to {@code prevHash})
 * @param signature CHECKPOINT only: Ed25519 signature as 128 lowercase hex characters
 * @param attributes further string fields, for event details without a field of their own;
 *     iterated in canonical order (by Unicode code point)
 * @param prevHash the hash of the previous record ({@link ChainHash#GENESIS} for seq 1)
 * @param hash {@code BLAKE3(prevHash ‖ canonicalBytes())}
 */
public record AuditRecord(
    long seq,
    long timeMs,
    AuditEventType type,
    @Nullable String tokenId,
    @Nullable String agentId,
    @Nullable String parentTokenId,
    @Nullable String endpoint,
    @Nullable String method,
    @Nullable String model,
    @Nullable String promptHash,
    @Nullable String reasonCode,
    @Nullable Integer status,
    @Nullable Long latencyUs,
    @Nullable String requestId,
    @Nullable String replicaId,
    @Nullable String selector,
    @Nullable String reason,
    @Nullable String keyId,
    @Nullable Long checkpointSeq,
    @Nullable ChainHash checkpointHash,
    @Nullable String signature,
    SortedMap<String, String> attributes,
    ChainHash prevHash,
    ChainHash hash) {

  /** Prefix of every {@code prs_…} token; values starting with it are refused. */
  private static final String TOKEN_PREFIX = "prs_";

  /**
   * Attribute of a {@code completion} record: lowercase hex SHA-256 of the response body,
   * exactly 64 characters (never the text; the constructor refuses anything else).
   */
  public static final String COMPLETION_HASH_ATTRIBUTE = "completion_hash";

  public AuditRecord {
    if (seq < 1) {
      throw new IllegalArgumentException("seq starts at 1, got " + seq);
    }
    if (type == null || prevHash == null || hash == null) {
      throw new IllegalArgumentException("type, prevHash and hash are required");
    }
    tokenId = text("token_id", tokenId);
    agentId = text("agent_id", agentId);
    parentTokenId = text("parent_token_id", parentTokenId);
    endpoint = text("endpoint", endpoint);
    method = text("method", method);
    model = text("model", model);
    promptHash = text("prompt_hash", promptHash);
    reasonCode = text("reason_code", reasonCode);
    requestId = text("request_id", requestId);
    replicaId = text("replica_id", replicaId);
    selector = text("selector", selector);
    reason = text("reason", reason);
    keyId = text("key_id", keyId);
    signature = text("signature", signature);
    if (promptHash != null && (promptHash.length() > 128 || !ChainHash.isLowerHex(promptHash))) {
      throw new IllegalArgumentException(
          "prompt_hash must be a lowercase hex hash of the body (never the body itself)");
    }
    TreeMap<String, String> attrs = new TreeMap<>(CanonicalJson.CODE_POINT_ORDER);
    if (attributes != null) {
      for (Map.Entry<String, String> e : attributes.entrySet()) {
        String key = text("attribute name", e.getKey());
        if (key == null) {
          throw new IllegalArgumentException("attribute names must not be empty");
        }
        String value = text("attribute " + key, e.getValue());
        if (value != null) {
          attrs.put(key, value);
        }
      }
    }
    attributes = Collections.unmodifiableSortedMap(attrs);
    String completionHash = attrs.get(COMPLETION_HASH_ATTRIBUTE);
    if (completionHash != null
        && (completionHash.length() != 64 || !ChainHash.isLowerHex(completionHash))) {
      throw new IllegalArgumentException("attribute completion_hash must be 64 lowercase hex"
          + " characters: a hash of the response, never its text");
    }
    boolean checkpointFields =
        checkpointSeq != null || checkpointHash != null || signature != null;
    if (type == AuditEventType.CHECKPOINT) {
      if (checkpointSeq == null || checkpointHash == null || signature == null || keyId == null) {
        throw new IllegalArgumentException(
            "a checkpoint carries checkpoint_seq, checkpoint_hash, key_id and signature");
      }
      if (signature.length() != 128 || !ChainHash.isLowerHex(signature)) {
        throw new IllegalArgumentException("signature must be 128 lowercase hex characters");
      }
    } else if (checkpointFields) {
      throw new IllegalArgumentException(
          "checkpoint_seq, checkpoint_hash and signature belong to checkpoint records only");
    }
  }

  /** An empty builder for an event of this type. */
  public static Builder builder(AuditEventType type) {
    return new Builder(type);
  }

  /**
   * The {@code prompt_hash} of a request body: SHA-256 of the exact body bytes, as 64 lowercase
   * hex characters (the hash authz replicas report, {@code DecisionReport.prompt_hash}).
   * One-way: the log never holds the prompt, yet whoever holds a prompt can show it was sent.
   */
  public static String hashPrompt(byte[] body) {
    try {
      return java.util.HexFormat.of().formatHex(
          java.security.MessageDigest.getInstance("SHA-256").digest(body));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required of every JDK", e);
    }
  }

  /** The canonical bytes the chain hashes (docs/audit-log.md, "Canonical bytes"). */
  public byte[] canonicalBytes() {
    return CanonicalJson.canonicalBytes(this);
  }

  /**
   * The record's JSONL line, without the trailing newline: the canonical JSON with {@code
   * prev_hash} and {@code hash} appended as its last two fields (docs/audit-log.md, "Export
   * format"). This is also exactly how the embedded log stores it.
   */
  public byte[] exportLine() {
    return CanonicalJson.exportLine(this);
  }

  /** A builder holding this record's event fields (not its seq, time or hashes). */
  public Builder toBuilder() {
    Builder b = new Builder(type);
    b.tokenId = tokenId;
    b.agentId = agentId;
    b.parentTokenId = parentTokenId;
    b.endpoint = endpoint;
    b.method = method;
    b.model = model;
    b.promptHash = promptHash;
    b.reasonCode = reasonCode;
    b.status = status;
    b.latencyUs = latencyUs;
    b.requestId = requestId;
    b.replicaId = replicaId;
    b.selector = selector;
    b.reason = reason;
    b.keyId = keyId;
    b.checkpointSeq = checkpointSeq;
    b.checkpointHash = checkpointHash;
    b.signature = signature;
    b.attributes.putAll(attributes);
    return b;
  }

  private static String text(String field, String value) {
    if (value == null || value.isEmpty()) {
      return null;
    }
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (Character.isHighSurrogate(c) && i + 1 < value.length()
          && Character.isLowSurrogate(value.charAt(i + 1))) {
        i++;
      } else if (Character.isSurrogate(c)) {
        throw new IllegalArgumentException(field + " holds a lone UTF-16 surrogate");
      }
    }
    if (value.startsWith(TOKEN_PREFIX)) {
      throw new IllegalArgumentException(field + " looks like a prs_ token; audit records carry"
          + " token ids, never tokens");
    }
    return value;
  }

  /**
   * The event fields of a record-to-be. Not thread-safe; {@link AuditLog#append} takes a
   * snapshot, so a builder may be reused after the call returns. Setting a field to null or ""
   * clears it.
   */
  public static final class Builder {
    private final AuditEventType type;
    private String tokenId;
    private String agentId;
    private String parentTokenId;
    private String endpoint;
    private String method;
    private String model;
    private String promptHash;
    private String reasonCode;
    private Integer status;
    private Long latencyUs;
    private String requestId;
    private String replicaId;
    private String selector;
    private String reason;
    private String keyId;
    private Long checkpointSeq;
    private ChainHash checkpointHash;
    private String signature;
    private final TreeMap<String, String> attributes =
        new TreeMap<>(CanonicalJson.CODE_POINT_ORDER);

    private Builder(AuditEventType type) {
      if (type == null) {
        throw new IllegalArgumentException("type is required");
      }
      this.type = type;
    }

    public AuditEventType type() {
      return type;
    }

    /** The token's id (never the {@code prs_…} token). */
    public Builder tokenId(String v) {
      tokenId = v;
      return this;
    }

    public Builder agentId(String v) {
      agentId = v;
      return this;
    }

    /** The parent token's id (never the token). */
    public Builder parentTokenId(String v) {
      parentTokenId = v;
      return this;
    }

    public Builder endpoint(String v) {
      endpoint = v;
      return this;
    }

    public Builder method(String v) {
      method = v;
      return this;
    }

    public Builder model(String v) {
      model = v;
      return this;
    }

    /** Lowercase hex hash of the request body; see {@link AuditRecord#hashPrompt(byte[])}. */
    public Builder promptHash(String v) {
      promptHash = v;
      return this;
    }

    public Builder reasonCode(String v) {
      reasonCode = v;
      return this;
    }

    public Builder status(Integer v) {
      status = v;
      return this;
    }

    public Builder latencyUs(Long v) {
      latencyUs = v;
      return this;
    }

    public Builder requestId(String v) {
      requestId = v;
      return this;
    }

    public Builder replicaId(String v) {
      replicaId = v;
      return this;
    }

    public Builder selector(String v) {
      selector = v;
      return this;
    }

    public Builder reason(String v) {
      reason = v;
      return this;
    }

    public Builder keyId(String v) {
      keyId = v;
      return this;
    }

    /** Adds (or with a null or empty value, removes) a free-form string attribute. */
    public Builder attribute(String name, String value) {
      if (value == null || value.isEmpty()) {
        attributes.remove(name);
      } else {
        attributes.put(name, value);
      }
      return this;
    }

    Builder checkpointSeq(Long v) {
      checkpointSeq = v;
      return this;
    }

    Builder checkpointHash(ChainHash v) {
      checkpointHash = v;
      return this;
    }

    Builder signature(String v) {
      signature = v;
      return this;
    }

    /** Seals the fields into a record at this position of the chain. */
    AuditRecord build(long seq, long timeMs, ChainHash prevHash, ChainHash hash) {
      return new AuditRecord(seq, timeMs, type, tokenId, agentId, parentTokenId, endpoint,
          method, model, promptHash, reasonCode, status, latencyUs, requestId, replicaId,
          selector, reason, keyId, checkpointSeq, checkpointHash, signature, attributes,
          prevHash, hash);
    }

    /** A validated, independent copy (validation as for a sealed record). */
    Builder snapshot() {
      build(1, 0, ChainHash.GENESIS, ChainHash.GENESIS);
      Builder copy = new Builder(type);
      copy.tokenId = tokenId;
      copy.agentId = agentId;
      copy.parentTokenId = parentTokenId;
      copy.endpoint = endpoint;
      copy.method = method;
      copy.model = model;
      copy.promptHash = promptHash;
      copy.reasonCode = reasonCode;
      copy.status = status;
      copy.latencyUs = latencyUs;
      copy.requestId = requestId;
      copy.replicaId = replicaId;
      copy.selector = selector;
      copy.reason = reason;
      copy.keyId = keyId;
      copy.checkpointSeq = checkpointSeq;
      copy.checkpointHash = checkpointHash;
      copy.signature = signature;
      copy.attributes.putAll(attributes);
      return copy;
    }
  }
}
