package io.perishable.authz.envoy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption.HeaderAppendAction;
import io.envoyproxy.envoy.service.auth.v3.AttributeContext;
import io.envoyproxy.envoy.service.auth.v3.AuthorizationGrpc;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.perishable.authz.DenialReason;
import io.perishable.authz.decision.Decision;
import io.perishable.authz.decision.DecisionEngine;
import io.perishable.authz.decision.DecisionListener;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The Check RPC in-process: glue only, with a stand-in engine. */
class AuthorizationEndpointTest {
  private final List<Decision> decided = new ArrayList<>();
  private final DecisionListener listener = (request, decision, nanos) -> decided.add(decision);
  private Server server;
  private ManagedChannel channel;

  @AfterEach
  void stop() throws InterruptedException {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  private CheckResponse check(DecisionEngine engine, CheckRequest request) throws Exception {
    String name = InProcessServerBuilder.generateName();
    server = InProcessServerBuilder.forName(name).directExecutor()
        .addService(new AuthorizationEndpoint(engine, listener)).build().start();
    channel = InProcessChannelBuilder.forName(name).directExecutor().build();
    return AuthorizationGrpc.newBlockingStub(channel).check(request);
  }

  private static CheckRequest request(Map<String, String> headers, String body) {
    return CheckRequest.newBuilder().setAttributes(AttributeContext.newBuilder()
        .setRequest(AttributeContext.Request.newBuilder().setHttp(
            AttributeContext.HttpRequest.newBuilder()
                .setMethod("POST").setPath("/v1/chat/completions")
                .putAllHeaders(headers)
                .setRawBody(ByteString.copyFrom(body, StandardCharsets.UTF_8)))))
        .build();
  }

  @Test
  void check_engineThrows_failsClosedWith503() throws Exception {
    DecisionEngine exploding = new DecisionEngine(null, null, null, null, null, null,
        java.util.Optional.empty());

    CheckResponse response = check(exploding, request(Map.of(), "{}"));

    assertEquals(503, response.getDeniedResponse().getStatus().getCodeValue());
    assertTrue(response.getDeniedResponse().getBody().contains("internal_error"));
    assertEquals(DenialReason.INTERNAL_ERROR, ((Decision.Deny) decided.get(0)).reason());
  }

  @Test
  void check_noToken_deniedAndListenerTold() throws Exception {
    DecisionEngine engine = EngineFixture.engine();

    CheckResponse response = check(engine, request(Map.of("content-type", "application/json"),
        "{\"model\":\"gpt-4o-mini\"}"));

    assertEquals(401, response.getDeniedResponse().getStatus().getCodeValue());
    assertEquals(1, decided.size());
  }

  @Test
  void check_allowed_setsCredentialOverwritingAndRemovesOther() throws Exception {
    EngineFixture fixture = new EngineFixture();
    CheckResponse response = check(fixture.engine, request(Map.of(
        "authorization", "Bearer " + fixture.tokens.mint(),
        "content-type", "application/json"),
        "{\"model\":\"gpt-4o-mini\",\"max_tokens\":5}"));

    assertEquals(0, response.getStatus().getCode());
    var ok = response.getOkResponse();
    var auth = ok.getHeadersList().stream()
        .filter(h -> h.getHeader().getKey().equals("authorization")).findFirst().orElseThrow();
    assertEquals("Bearer " + EngineFixture.OPENAI_KEY, auth.getHeader().getValue());
    assertEquals(HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD, auth.getAppendAction());
    assertEquals(List.of("x-api-key"), ok.getHeadersToRemoveList());
    assertEquals("allow",
        response.getDynamicMetadata().getFieldsOrThrow("result").getStringValue());
  }
}
