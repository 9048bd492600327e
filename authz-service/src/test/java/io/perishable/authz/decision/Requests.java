package io.perishable.authz.decision;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Builds {@link AuthzRequest}s the way Envoy would describe them. */
final class Requests {
  private final String method;
  private final String path;
  private final Map<String, List<String>> headers = new LinkedHashMap<>();
  private byte[] body = new byte[0];

  private Requests(String method, String path) {
    this.method = method;
    this.path = path;
  }

  static Requests post(String path) {
    return new Requests("POST", path);
  }

  static Requests get(String path) {
    return new Requests("GET", path);
  }

  Requests header(String name, String value) {
    headers.computeIfAbsent(name, k -> new ArrayList<>()).add(value);
    return this;
  }

  Requests bearer(String token) {
    return header("authorization", "Bearer " + token);
  }

  /** A JSON body with content-type and content-length as a client would send them. */
  Requests json(String json) {
    body = json.getBytes(StandardCharsets.UTF_8);
    header("content-type", "application/json");
    return header("content-length", Integer.toString(body.length));
  }

  /** A chat completion for {@code model} asking for {@code maxTokens}. */
  Requests chat(String model, int maxTokens) {
    return json("{\"model\":\"" + model + "\",\"max_tokens\":" + maxTokens
        + ",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
  }

  AuthzRequest build() {
    return new AuthzRequest(method, path, headers, body, "req-1");
  }
}
