package io.perishable.authz.envoy;

import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.service.auth.v3.AttributeContext;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.perishable.authz.decision.AuthzRequest;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** CheckRequest to {@link AuthzRequest}. */
final class CheckRequests {
  private CheckRequests() {}

  static AuthzRequest toDomain(CheckRequest check) {
    AttributeContext.HttpRequest http = check.getAttributes().getRequest().getHttp();
    Map<String, List<String>> headers = new LinkedHashMap<>();
    if (http.hasHeaderMap() && http.getHeaderMap().getHeadersCount() > 0) {
      // encode_raw_headers: every occurrence of a repeated header arrives separately.
      for (HeaderValue h : http.getHeaderMap().getHeadersList()) {
        String value = h.getRawValue().isEmpty() ? h.getValue()
            : h.getRawValue().toString(StandardCharsets.UTF_8);
        headers.computeIfAbsent(h.getKey().toLowerCase(Locale.ROOT), k -> new ArrayList<>(1))
            .add(value);
      }
    } else {
      // Envoy joins repeated headers with ',' in this map.
      http.getHeadersMap().forEach((name, value) ->
          headers.computeIfAbsent(name.toLowerCase(Locale.ROOT), k -> new ArrayList<>(1))
              .add(value));
    }
    byte[] body = !http.getRawBody().isEmpty()
        ? http.getRawBody().toByteArray()
        : http.getBody().getBytes(StandardCharsets.UTF_8);
    String requestId = http.getId();
    List<String> ids = headers.get("x-request-id");
    if (ids != null && !ids.isEmpty()) {
      requestId = ids.get(0);
    }
    return new AuthzRequest(
        http.getMethod().toUpperCase(Locale.ROOT), http.getPath(), headers, body, requestId);
  }
}
