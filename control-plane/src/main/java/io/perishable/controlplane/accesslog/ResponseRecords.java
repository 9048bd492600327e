package io.perishable.controlplane.accesslog;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.data.accesslog.v3.HTTPAccessLogEntry;
import io.perishable.controlplane.audit.AuditEventType;
import io.perishable.controlplane.audit.AuditRecord;
import java.util.Locale;
import java.util.Optional;

/**
 * Turns one Envoy HTTP access-log entry into a RESPONSE audit record. Only requests that
 * authz-service allowed count: a denied request never reached a provider, and its DENIED
 * record already says everything. Nothing from the request's headers or body is copied: the
 * path loses its query, and ids come from authz-service's own dynamic metadata.
 */
final class ResponseRecords {
  /** The filter name under which ext_authz stores the dynamic metadata authz-service sends. */
  static final String EXT_AUTHZ_NAMESPACE = "envoy.filters.http.ext_authz";

  private ResponseRecords() {}

  static Optional<AuditRecord.Builder> from(HTTPAccessLogEntry entry, String envoyNode) {
    Struct decision = entry.getCommonProperties().getMetadata().getFilterMetadataMap()
        .get(EXT_AUTHZ_NAMESPACE);
    if (decision == null || !"allow".equals(text(decision, "result"))) {
      return Optional.empty();
    }
    String path = entry.getRequest().getPath();
    int query = path.indexOf('?');
    AuditRecord.Builder record = AuditRecord.builder(AuditEventType.RESPONSE)
        .requestId(entry.getRequest().getRequestId())
        .method(entry.getRequest().getRequestMethod().name().toUpperCase(Locale.ROOT))
        .endpoint(query < 0 ? path : path.substring(0, query))
        .status(entry.getResponse().hasResponseCode()
            ? entry.getResponse().getResponseCode().getValue() : 0)
        .latencyUs(micros(entry.getCommonProperties().getTimeToLastDownstreamTxByte()));
    String tokenId = text(decision, "token_id");
    if (!tokenId.isEmpty()) {
      record.tokenId(tokenId);
    }
    String agentId = text(decision, "agent_id");
    if (!agentId.isEmpty()) {
      record.agentId(agentId);
    }
    String scope = text(decision, "scope");
    if (!scope.isEmpty()) {
      record.attribute("scope", scope);
    }
    record.attribute("response_bytes", Long.toString(entry.getResponse().getResponseBodyBytes()));
    if (!envoyNode.isEmpty()) {
      record.attribute("envoy_node", envoyNode);
    }
    return Optional.of(record);
  }

  private static String text(Struct struct, String field) {
    Value value = struct.getFieldsMap().get(field);
    return value == null ? "" : value.getStringValue();
  }

  private static long micros(com.google.protobuf.Duration d) {
    return d.getSeconds() * 1_000_000L + d.getNanos() / 1_000;
  }
}
