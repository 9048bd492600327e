package io.perishable.authz.envoy;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import com.google.rpc.Code;
import com.google.rpc.Status;
import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption.HeaderAppendAction;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import io.envoyproxy.envoy.service.auth.v3.DeniedHttpResponse;
import io.envoyproxy.envoy.service.auth.v3.OkHttpResponse;
import io.envoyproxy.envoy.type.v3.HttpStatus;
import io.perishable.authz.DenialReason;
import io.perishable.authz.decision.Decision;
import io.perishable.authz.decision.DecisionEngine;
import io.perishable.authz.token.VerifiedToken;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;

/** {@link Decision} to CheckResponse: header mutations on allow, provider-style errors on deny. */
public final class CheckResponses {
  /** Response header naming the denial reason; Envoy's local-reply mapping keys on it. */
  public static final String REASON_HEADER = "x-perishable-reason";

  private static final JsonFactory JSON = new JsonFactory();

  private CheckResponses() {}

  static CheckResponse toEnvoy(Decision decision) {
    if (decision instanceof Decision.Allow allow) {
      return ok(allow);
    }
    return denied((Decision.Deny) decision);
  }

  private static CheckResponse ok(Decision.Allow allow) {
    OkHttpResponse.Builder ok = OkHttpResponse.newBuilder();
    allow.setHeaders().forEach((name, value) ->
        ok.addHeaders(header(name, value, HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD)));
    allow.addIfAbsentHeaders().forEach((name, value) ->
        ok.addHeaders(header(name, value, HeaderAppendAction.ADD_IF_ABSENT)));
    ok.addAllHeadersToRemove(allow.removeHeaders());
    return CheckResponse.newBuilder()
        .setStatus(Status.newBuilder().setCode(Code.OK_VALUE))
        .setOkResponse(ok)
        .setDynamicMetadata(metadata(allow.claims(), "allow", allow.scope()))
        .build();
  }

  /** The denial as Envoy sends it to the client. Public for tests of the body shape. */
  public static CheckResponse denied(Decision.Deny deny) {
    DenialReason reason = deny.reason();
    DeniedHttpResponse.Builder denied = DeniedHttpResponse.newBuilder()
        .setStatus(HttpStatus.newBuilder().setCodeValue(reason.httpStatus()))
        .addHeaders(header("content-type", "application/json",
            HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD))
        .addHeaders(header(REASON_HEADER, reason.code(),
            HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD))
        .setBody(errorBody(deny));
    if (deny.retryAfter().isPresent()) {
      // Retry-After for every HTTP client; retry-after-ms is what the OpenAI SDKs read first.
      denied.addHeaders(header("retry-after",
          Long.toString(DecisionEngine.retryAfterSeconds(deny.retryAfter().get())),
          HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD));
      denied.addHeaders(header("retry-after-ms",
          Long.toString(Math.max(1, deny.retryAfter().get().toMillis())),
          HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD));
    }
    if (reason.httpStatus() == 401) {
      denied.addHeaders(header("www-authenticate",
          "Bearer realm=\"perishable\", error=\"invalid_token\", error_description=\""
              + reason.code() + "\"", HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD));
    }
    Code code = switch (reason.httpStatus()) {
      case 401 -> Code.UNAUTHENTICATED;
      case 503 -> Code.UNAVAILABLE;
      default -> Code.PERMISSION_DENIED;
    };
    CheckResponse.Builder response = CheckResponse.newBuilder()
        .setStatus(Status.newBuilder().setCode(code.getNumber()).setMessage(reason.code()))
        .setDeniedResponse(denied);
    response.setDynamicMetadata(metadata(deny.claims(), "deny", reason.code()));
    return response.build();
  }

  /**
   * OpenAI's shape {@code {"error":{"message","type","param","code"}}}, or Anthropic's
   * {@code {"type":"error","error":{"type","message","code"}}} for Anthropic-style clients, so
   * each SDK surfaces the message as it would the provider's own.
   */
  static String errorBody(Decision.Deny deny) {
    DenialReason reason = deny.reason();
    StringWriter out = new StringWriter(256);
    try (JsonGenerator json = JSON.createGenerator(out)) {
      json.writeStartObject();
      if (deny.anthropicStyle()) {
        json.writeStringField("type", "error");
        json.writeObjectFieldStart("error");
        json.writeStringField("type", reason.anthropicType());
        json.writeStringField("message", deny.message());
        json.writeStringField("code", reason.code());
        json.writeEndObject();
      } else {
        json.writeObjectFieldStart("error");
        json.writeStringField("message", deny.message());
        json.writeStringField("type", reason.openAiType());
        json.writeNullField("param");
        json.writeStringField("code", reason.code());
        json.writeEndObject();
      }
      json.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toString();
  }

  /** Dynamic metadata for Envoy's access log: ids only, never the token. */
  private static Struct metadata(VerifiedToken claims, String result, String detail) {
    Struct.Builder struct = Struct.newBuilder()
        .putFields("result", string(result))
        .putFields(result.equals("allow") ? "scope" : "reason", string(detail));
    if (claims != null) {
      struct.putFields("token_id", string(claims.tokenId()));
      struct.putFields("agent_id", string(claims.agentId()));
    }
    return struct.build();
  }

  private static Value string(String s) {
    return Value.newBuilder().setStringValue(s).build();
  }

  private static HeaderValueOption header(String name, String value, HeaderAppendAction action) {
    return HeaderValueOption.newBuilder()
        .setHeader(HeaderValue.newBuilder().setKey(name).setValue(value))
        .setAppendAction(action)
        .build();
  }

}
