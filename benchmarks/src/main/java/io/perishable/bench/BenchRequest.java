package io.perishable.bench;

import com.google.protobuf.ByteString;
import com.google.protobuf.Timestamp;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.service.auth.v3.AttributeContext;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.perishable.authz.decision.AuthzRequest;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The one request every measurement sends: a {@value #BODY_BYTES}-byte chat completion for
 * {@value ChatBodies#MODEL} with a cached, valid token. Envoy with ext_authz receives it with
 * the {@code prs_} token; Envoy alone receives the same body with what authz-service would have
 * put in its place (the provider key and the routing header), so both reach the fake upstream
 * the same way.
 */
public final class BenchRequest {
  public static final String PATH = "/v1/chat/completions";
  public static final int BODY_BYTES = 2048;

  private final String token;
  private final byte[] body;
  private final byte[] streamedBody;

  public BenchRequest(String token) {
    this.token = token;
    this.body = ChatBodies.ofSize(BODY_BYTES);
    this.streamedBody = ChatBodies.streamingOfSize(BODY_BYTES);
  }

  public String token() {
    return token;
  }

  public byte[] body() {
    return body.clone();
  }

  /**
   * The same size of chat completion asking for a stream ({@code "stream":true}, usage in the
   * last event): the fake upstream answers with server-sent events, one flushed chunk each.
   */
  public byte[] streamedBody() {
    return streamedBody.clone();
  }

  /** What the agent sends to Envoy with ext_authz: its {@code prs_} token. */
  public Map<String, String> headersWithToken() {
    Map<String, String> headers = new LinkedHashMap<>();
    headers.put("content-type", "application/json");
    headers.put("authorization", "Bearer " + token);
    return headers;
  }

  /**
   * What Envoy alone needs for the same call: the provider key and the routing header that
   * authz-service would otherwise set.
   */
  public static Map<String, String> headersWithoutAuthz(String providerKey, String upstream) {
    Map<String, String> headers = new LinkedHashMap<>();
    headers.put("content-type", "application/json");
    headers.put("authorization", "Bearer " + providerKey);
    headers.put("x-perishable-upstream", upstream);
    return headers;
  }

  /** The headers as Envoy's ext_authz filter sends them for an HTTP/1.1 request from wrk. */
  Map<String, String> headersAsEnvoySendsThem() {
    Map<String, String> headers = new LinkedHashMap<>();
    headers.put(":authority", "127.0.0.1");
    headers.put(":path", PATH);
    headers.put(":method", "POST");
    headers.put(":scheme", "http");
    headers.putAll(headersWithToken());
    headers.put("content-length", Integer.toString(body.length));
    headers.put("x-forwarded-proto", "http");
    headers.put("x-request-id", "3f1c2a9e-5b7d-4e8f-9a0b-1c2d3e4f5a6b");
    return headers;
  }

  /** The Check RPC Envoy sends for this request (ghz replays exactly these bytes). */
  public CheckRequest checkRequest() {
    Address client = Address.newBuilder().setSocketAddress(SocketAddress.newBuilder()
        .setAddress("127.0.0.1").setPortValue(40000)).build();
    Address envoy = Address.newBuilder().setSocketAddress(SocketAddress.newBuilder()
        .setAddress("127.0.0.1").setPortValue(10000)).build();
    AttributeContext.HttpRequest http = AttributeContext.HttpRequest.newBuilder()
        .setId("1234567890123456789")
        .setMethod("POST")
        .putAllHeaders(headersAsEnvoySendsThem())
        .setPath(PATH)
        .setHost("127.0.0.1")
        .setScheme("http")
        .setProtocol("HTTP/1.1")
        .setSize(body.length)
        .setRawBody(ByteString.copyFrom(body))
        .build();
    return CheckRequest.newBuilder()
        .setAttributes(AttributeContext.newBuilder()
            .setSource(AttributeContext.Peer.newBuilder().setAddress(client))
            .setDestination(AttributeContext.Peer.newBuilder().setAddress(envoy))
            .setRequest(AttributeContext.Request.newBuilder()
                .setTime(Timestamp.newBuilder().setSeconds(1_760_000_000L))
                .setHttp(http)))
        .build();
  }

  /** The same request as authz-service's engine sees it (after CheckRequest → domain). */
  public AuthzRequest authzRequest() {
    Map<String, List<String>> headers = new LinkedHashMap<>();
    headersAsEnvoySendsThem().forEach((name, value) -> headers.put(name, List.of(value)));
    return new AuthzRequest("POST", PATH, headers, body.clone(),
        headersAsEnvoySendsThem().get("x-request-id"));
  }
}
