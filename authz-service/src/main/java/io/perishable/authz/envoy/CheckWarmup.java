package io.perishable.authz.envoy;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.service.auth.v3.AttributeContext;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.perishable.authz.body.RequestBodyInspector;
import io.perishable.authz.decision.Decision;
import io.perishable.authz.decision.DecisionEngine;
import io.perishable.proto.v1.TokenClaims;
import io.perishable.token.SigningKey;
import io.perishable.token.TokenCodec;
import java.nio.charset.StandardCharsets;

/**
 * Runs the Check path once before the port opens, so the first real request does not pay for
 * loading and initialising what it touches (Envoy's API descriptors, the token codec, Ed25519,
 * Jackson). Cold, the first request through Envoy took 0.34-0.76 s on a busy 2-core machine
 * (26-64 ms warmed), and past Envoy's 1 s ext_authz timeout it became a 503 for whoever sent
 * it.
 *
 * <p>Nothing the warm-up does is observable: its token is signed by a throwaway key no
 * replica trusts, so the engine refuses it before any cache, rate limit or budget is touched,
 * and the decision goes to no listener (no metrics, no audit record).
 */
public final class CheckWarmup {
  private static final String BODY = "{\"model\":\"gpt-4o-mini\",\"max_tokens\":64,"
      + "\"messages\":[{\"role\":\"user\",\"content\":\"" + "warm ".repeat(400) + "\"}]}";

  private CheckWarmup() {}

  /** One Check through {@code engine} and one body inspection; the engine's decision. */
  public static Decision run(DecisionEngine engine, RequestBodyInspector inspector) {
    SigningKey throwaway = SigningKey.generate(0);
    TokenClaims claims = TokenClaims.newBuilder().setTokenId("warmup")
        .setKeyId(throwaway.keyId()).setAgentId("warmup").setIssuedAtMs(0).setExpiresAtMs(1)
        .addScopes("warmup").build();
    String token = TokenCodec.encode(claims, throwaway);
    TokenCodec.decode(token).verifiedBy(throwaway.publicKey());
    byte[] body = BODY.getBytes(StandardCharsets.UTF_8);
    inspector.inspect(body);

    CheckRequest request = CheckRequest.newBuilder().setAttributes(AttributeContext.newBuilder()
        .setRequest(AttributeContext.Request.newBuilder().setHttp(
            AttributeContext.HttpRequest.newBuilder()
                .setId("warmup").setMethod("POST").setPath("/v1/chat/completions")
                .putHeaders("authorization", "Bearer " + token)
                .putHeaders("content-type", "application/json")
                .setRawBody(ByteString.copyFrom(body)))))
        .build();
    try {
      // Through the wire format, as a real Check arrives.
      request = CheckRequest.parseFrom(request.toByteArray());
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("a CheckRequest did not survive its own encoding", e);
    }
    Decision decision = engine.decide(CheckRequests.toDomain(request));
    CheckResponses.toEnvoy(decision).toByteArray();
    return decision;
  }
}
