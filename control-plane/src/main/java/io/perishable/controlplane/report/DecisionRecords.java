package io.perishable.controlplane.report;

import io.perishable.controlplane.audit.AuditEventType;
import io.perishable.controlplane.audit.AuditRecord;
import io.perishable.proto.v1.DecisionReport;
import io.perishable.proto.v1.ResponseMetering;

/**
 * Turns a reported decision into the audit record's fields: {@code used} when allowed, {@code
 * denied} (with reason code and status) when refused, {@code completion} for a metered response
 * (the report's {@code metering}); replica id, the replica's seq and spool id
 * (the de-duplication key) and the replica's decision time as attributes.
 *
 * <p>Several fields come from the client (path, model, request id). {@link AuditRecord} refuses
 * a value that looks like a {@code prs_} token; such a value is replaced by {@value #REDACTED},
 * never allowed to make the whole report unrecordable (which would stall the replica's stream
 * on one decision for ever).
 */
final class DecisionRecords {
  static final String REDACTED = "[redacted: looked like a prs_ token]";
  /** Attribute of a {@code completion} record: {@code usage}, {@code no_usage} or {@code cut}. */
  static final String METERING_ATTRIBUTE = "metering";

  private DecisionRecords() {}

  static AuditRecord.Builder of(ReportSource source, DecisionReport d) {
    if (d.hasMetering()) {
      return completion(source, d);
    }
    AuditRecord.Builder b = identity(source, d)
        .tokenId(safe(d.getTokenId()))
        .agentId(safe(d.getAgentId()))
        .parentTokenId(safe(d.getParentTokenId()))
        .endpoint(safe(d.getPath()))
        .method(safe(d.getMethod()))
        .model(safe(d.getModel()))
        .latencyUs(d.getLatencyUs())
        .requestId(safe(d.getRequestId()))
        .attribute("scope", safe(d.getScope()))
        .attribute("upstream", safe(d.getUpstream()))
        .attribute("decided_at_ms", Long.toString(d.getTimeMs()));
    String hash = d.getPromptHash();
    if (isLowerHex(hash)) {
      b.promptHash(hash);
    } else if (!hash.isEmpty()) {
      b.attribute("prompt_hash_invalid", "true");
    }
    if (!d.getAllowed()) {
      b.reasonCode(safe(d.getReasonCode()));
      if (d.getHttpStatus() > 0) {
        b.status(d.getHttpStatus());
      }
    }
    return b;
  }

  /**
   * A metered response: {@code completion}, with the upstream's status, the request and token
   * ids, and as attributes the completion hash, the metering outcome and the reported usage.
   */
  private static AuditRecord.Builder completion(ReportSource source, DecisionReport d) {
    ResponseMetering m = d.getMetering();
    AuditRecord.Builder b = identity(source, d)
        .tokenId(safe(d.getTokenId()))
        .requestId(safe(d.getRequestId()))
        .attribute("upstream", safe(d.getUpstream()))
        .attribute("metered_at_ms", Long.toString(d.getTimeMs()))
        .attribute(METERING_ATTRIBUTE, outcome(m.getOutcome()));
    if (m.getUpstreamStatus() > 0) {
      b.status(m.getUpstreamStatus());
    }
    String hash = m.getCompletionHash();
    if (hash.length() == 64 && isLowerHex(hash)) {
      b.attribute(AuditRecord.COMPLETION_HASH_ATTRIBUTE, hash);
    } else {
      b.attribute("completion_hash_invalid", "true");
    }
    if (m.getOutcome() == ResponseMetering.Outcome.USAGE) {
      b.attribute("input_tokens", Long.toUnsignedString(m.getInputTokens()))
          .attribute("output_tokens", Long.toUnsignedString(m.getOutputTokens()));
    }
    return b;
  }

  private static String outcome(ResponseMetering.Outcome outcome) {
    return switch (outcome) {
      case USAGE -> "usage";
      case NO_USAGE -> "no_usage";
      case CUT -> "cut";
      default -> "unknown";
    };
  }

  /**
   * The least record of a decision: what it was and where it came from. Used if the full record
   * is refused for a reason {@link #of} did not foresee, so the decision still counts.
   */
  static AuditRecord.Builder minimal(ReportSource source, DecisionReport d, String problem) {
    return identity(source, d).attribute("report_problem", safe(problem));
  }

  private static AuditRecord.Builder identity(ReportSource source, DecisionReport d) {
    AuditEventType type = d.hasMetering() ? AuditEventType.COMPLETION
        : d.getAllowed() ? AuditEventType.USED : AuditEventType.DENIED;
    return AuditRecord.builder(type)
        .replicaId(safe(source.replicaId()))
        .attribute(InMemoryReportLedger.SEQ_ATTRIBUTE, Long.toUnsignedString(d.getSeq()))
        .attribute(InMemoryReportLedger.SPOOL_ATTRIBUTE, safe(source.spoolId()));
  }

  private static String safe(String value) {
    return value != null && value.startsWith("prs_") ? REDACTED : value;
  }

  private static boolean isLowerHex(String s) {
    if (s.isEmpty() || s.length() > 128) {
      return false;
    }
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (!(c >= '0' && c <= '9') && !(c >= 'a' && c <= 'f')) {
        return false;
      }
    }
    return true;
  }
}
