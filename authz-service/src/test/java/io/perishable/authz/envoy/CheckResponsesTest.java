package io.perishable.authz.envoy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import io.perishable.authz.DenialReason;
import io.perishable.authz.decision.Decision;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class CheckResponsesTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  private static Map<String, String> headers(CheckResponse r) {
    return r.getDeniedResponse().getHeadersList().stream().collect(Collectors.toMap(
        h -> h.getHeader().getKey(), h -> h.getHeader().getValue()));
  }

  @Test
  void denied_expiredToken_401WithWwwAuthenticateAndOpenAiBody() throws Exception {
    CheckResponse r = CheckResponses.denied(new Decision.Deny(
        DenialReason.TOKEN_EXPIRED, "the token has expired", null, false));

    assertEquals(401, r.getDeniedResponse().getStatus().getCodeValue());
    assertEquals(com.google.rpc.Code.UNAUTHENTICATED_VALUE, r.getStatus().getCode());
    Map<String, String> headers = headers(r);
    assertEquals("application/json", headers.get("content-type"));
    assertEquals("token_expired", headers.get("x-perishable-reason"));
    assertEquals("Bearer realm=\"perishable\", error=\"invalid_token\", "
        + "error_description=\"token_expired\"", headers.get("www-authenticate"));
    JsonNode body = JSON.readTree(r.getDeniedResponse().getBody());
    assertEquals("the token has expired", body.at("/error/message").asText());
    assertEquals("invalid_request_error", body.at("/error/type").asText());
    assertEquals("token_expired", body.at("/error/code").asText());
    assertEquals(true, body.at("/error/param").isNull());
  }

  @Test
  void denied_anthropicStyle_usesAnthropicShape() throws Exception {
    CheckResponse r = CheckResponses.denied(new Decision.Deny(
        DenialReason.MODEL_NOT_ALLOWED, "model 'x' is not allowed", null, true));

    assertEquals(403, r.getDeniedResponse().getStatus().getCodeValue());
    assertFalse(headers(r).containsKey("www-authenticate"));
    JsonNode body = JSON.readTree(r.getDeniedResponse().getBody());
    assertEquals("error", body.at("/type").asText());
    assertEquals("permission_error", body.at("/error/type").asText());
    assertEquals("model 'x' is not allowed", body.at("/error/message").asText());
    assertEquals("model_not_allowed", body.at("/error/code").asText());
  }

  @Test
  void denied_rateLimited_carriesRetryAfterInSecondsAndMillis() {
    CheckResponse r = CheckResponses.denied(new Decision.Deny(DenialReason.RATE_LIMITED,
        "slow down", null, false, java.util.Optional.of(java.time.Duration.ofMillis(2500))));

    assertEquals(429, r.getDeniedResponse().getStatus().getCodeValue());
    assertEquals("3", headers(r).get("retry-after"));
    assertEquals("2500", headers(r).get("retry-after-ms"));
  }

  @Test
  void denied_messageWithQuotes_isEscapedJson() throws Exception {
    CheckResponse r = CheckResponses.denied(new Decision.Deny(
        DenialReason.BODY_NOT_JSON, "unexpected \"}\" \n at 3", null, false));
    assertEquals("unexpected \"}\" \n at 3",
        JSON.readTree(r.getDeniedResponse().getBody()).at("/error/message").asText());
  }

  @Test
  void everyReason_hasAStatusAndCodeUsedVerbatim() {
    for (DenialReason reason : DenialReason.values()) {
      CheckResponse r = CheckResponses.denied(new Decision.Deny(reason, "m", null, false));
      assertEquals(reason.httpStatus(), r.getDeniedResponse().getStatus().getCodeValue());
      assertEquals(reason.code(), headers(r).get("x-perishable-reason"));
    }
  }

  static String headerAction(HeaderValueOption option) {
    return option.getHeader().getKey() + ":" + option.getAppendAction();
  }
}
