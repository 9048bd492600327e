package io.perishable.authz.decision;

import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * An HTTP request as Envoy saw it, in plain Java terms.
 *
 * @param method upper-case HTTP method
 * @param path the {@code :path} pseudo-header, query included
 * @param headers lower-case header names to their values, in order; a header sent several
 *     times has several values
 * @param body the buffered body; empty when there was none
 * @param requestId Envoy's {@code x-request-id}, for logs and the audit trail
 */
public record AuthzRequest(
    String method, String path, Map<String, List<String>> headers, byte[] body,
    String requestId) {

  /** Every value of a header (case-insensitive name). */
  public List<String> headerValues(String name) {
    return headers.getOrDefault(name, List.of());
  }

  /** The header's only value; empty when absent. Several values count as present. */
  public Optional<String> header(String name) {
    List<String> values = headerValues(name);
    return values.isEmpty() ? Optional.empty() : Optional.of(String.join(",", values));
  }
}
