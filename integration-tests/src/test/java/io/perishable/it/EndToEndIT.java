package io.perishable.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.protobuf.Duration;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.perishable.fakellm.RecordedRequest;
import io.perishable.proto.v1.IssueResponse;
import io.perishable.token.SigningKey;
import io.perishable.token.TokenCodec;
import java.io.IOException;
import java.io.InputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The walking skeleton through a real Envoy: a token issued over gRPC opens the path to the
 * LLM, and nothing else does.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class EndToEndIT {
  private Stack stack;

  @BeforeAll
  void start() {
    stack = new Stack();
  }

  @AfterAll
  void stop() {
    if (stack != null) {
      stack.close();
    }
  }

  @BeforeEach
  void forgetUpstreamRequests() {
    stack.stack.fakeLlm().clear();
  }

  private List<RecordedRequest> upstreamSaw() {
    return stack.stack.fakeLlm().requests();
  }

  private static void assertError(HttpResponse<String> response, int status, String code) {
    assertEquals(status, response.statusCode(), response.body());
    assertEquals("application/json",
        response.headers().firstValue("content-type").orElse(""));
    JsonNode body = Stack.json(response.body());
    assertEquals(code, body.at("/error/code").asText(), response.body());
    assertFalse(body.at("/error/message").asText().isEmpty());
    assertFalse(response.body().matches("(?s).*prs_[A-Za-z0-9_-]{8,}.*"),
        "errors never echo a token: " + response.body());
  }

  // ---- allowed ------------------------------------------------------------------------

  @Test
  void validToken_chatCompletion_reachesProviderWithRealKeyAndNoToken() {
    IssueResponse token = stack.issue();

    HttpResponse<String> response = stack.postJson("/v1/chat/completions", token.getToken(),
        Stack.chat("gpt-4o-mini", 64));

    assertEquals(200, response.statusCode(), response.body());
    assertEquals("chat.completion", Stack.json(response.body()).at("/object").asText());
    RecordedRequest upstream = stack.stack.fakeLlm().lastRequest();
    assertEquals(List.of("Bearer " + stack.stack.openAiKey()),
        upstream.headerValues("authorization"));
    assertFalse(upstream.contains("prs_"), "the provider must never see a prs_ token");
    assertFalse(upstream.contains(token.getToken()));
    assertTrue(upstream.headerValues("x-api-key").isEmpty());
  }

  @Test
  void streamingChatCompletion_arrivesAsSseChunksThroughEnvoy() throws IOException {
    String token = stack.issue().getToken();
    HttpRequest request = stack.to("/v1/chat/completions")
        .header("authorization", "Bearer " + token)
        .header("content-type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"gpt-4o-mini\","
            + "\"max_tokens\":64,\"stream\":true,\"stream_options\":{\"include_usage\":true},"
            + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"))
        .build();

    HttpResponse<Stream<String>> response;
    try {
      response = stack.http.send(request, HttpResponse.BodyHandlers.ofLines());
    } catch (InterruptedException e) {
      throw new AssertionError(e);
    }

    assertEquals(200, response.statusCode());
    assertTrue(response.headers().firstValue("content-type").orElse("")
        .startsWith("text/event-stream"));
    List<String> events = response.body().filter(l -> l.startsWith("data: ")).toList();
    assertTrue(events.size() >= 3, "several chunks: " + events);
    assertEquals("data: [DONE]", events.get(events.size() - 1));
    assertTrue(events.stream().anyMatch(e -> e.contains("\"usage\"")), "usage chunk");
    assertEquals("chat.completion.chunk",
        Stack.json(events.get(0).substring(6)).at("/object").asText());
  }

  @Test
  void anthropicStyle_xApiKeyOnMessages_reachesAnthropicWithItsKey() {
    String token = stack.issue(Stack.request().toBuilder().clearModels()
        .addModels("claude-sonnet-4-5").setUpstream("anthropic").build()).getToken();

    HttpResponse<String> response = stack.send(stack.to("/v1/messages")
        .header("x-api-key", token)
        .header("anthropic-version", "2023-06-01")
        .header("content-type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"claude-sonnet-4-5\","
            + "\"max_tokens\":100,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"))
        .build());

    assertEquals(200, response.statusCode(), response.body());
    assertEquals("message", Stack.json(response.body()).at("/type").asText());
    RecordedRequest upstream = stack.stack.fakeLlm().lastRequest();
    assertEquals(List.of(stack.stack.anthropicKey()), upstream.headerValues("x-api-key"));
    assertEquals(List.of("2023-06-01"), upstream.headerValues("anthropic-version"));
    assertTrue(upstream.headerValues("authorization").isEmpty());
    assertFalse(upstream.contains("prs_"));
  }

  @Test
  void embeddings_withEmbedScope_allowed() {
    HttpResponse<String> response = stack.postJson("/v1/embeddings", stack.issue().getToken(),
        "{\"model\":\"gpt-4o-mini\",\"input\":\"hello\"}");
    assertEquals(200, response.statusCode(), response.body());
  }

  // ---- 401 ----------------------------------------------------------------------------

  @Test
  void noToken_401WithWwwAuthenticate() {
    HttpResponse<String> response =
        stack.postJson("/v1/chat/completions", null, Stack.chat("gpt-4o-mini", 10));
    assertError(response, 401, "token_missing");
    assertTrue(response.headers().firstValue("www-authenticate").orElse("")
        .startsWith("Bearer realm=\"perishable\", error=\"invalid_token\""));
    assertTrue(upstreamSaw().isEmpty());
  }

  @Test
  void garbageToken_401() {
    assertError(stack.postJson("/v1/chat/completions", "prs_garbage.garbage",
        Stack.chat("gpt-4o-mini", 10)), 401, "token_malformed");
    assertError(stack.postJson("/v1/chat/completions", "sk-proj-realLookingKey",
        Stack.chat("gpt-4o-mini", 10)), 401, "token_malformed");
    assertTrue(upstreamSaw().isEmpty());
  }

  @Test
  void tokenSignedByAnotherKey_401() {
    // Genuine-looking claims, signed by a key the control plane never had.
    SigningKey stranger = SigningKey.generate(System.currentTimeMillis());
    var claims = TokenCodec.decode(stack.issue().getToken()).claims().toBuilder()
        .setKeyId(stranger.keyId()).build();
    String forged = TokenCodec.encode(claims, stranger);

    assertError(stack.postJson("/v1/chat/completions", forged, Stack.chat("gpt-4o-mini", 10)),
        401, "token_unknown_key");
    assertTrue(upstreamSaw().isEmpty());
  }

  @Test
  void expiredToken_401() {
    String token = stack.issue(Stack.request().toBuilder()
        .setTtl(Duration.newBuilder().setSeconds(5)).build()).getToken();
    assertEquals(200, stack.postJson("/v1/chat/completions", token,
        Stack.chat("gpt-4o-mini", 10)).statusCode());

    // Past expiry plus the 30s clock-skew allowance, on authz-service's clock.
    stack.authzClock.advance(java.time.Duration.ofSeconds(5 + 30));

    assertError(stack.postJson("/v1/chat/completions", token, Stack.chat("gpt-4o-mini", 10)),
        401, "token_expired");
  }

  // ---- 403 ----------------------------------------------------------------------------

  static Stream<Arguments> outsideTheGrant() {
    return Stream.of(
        Arguments.of("POST", "/v1/images/generations", Stack.chat("gpt-4o-mini", 10),
            "path_not_allowed"),
        Arguments.of("GET", "/v1/chat/completions", null, "method_not_allowed"),
        Arguments.of("POST", "/v1/chat/completions", Stack.chat("gpt-4o", 10),
            "model_not_allowed"),
        Arguments.of("POST", "/v1/chat/completions", Stack.chat("gpt-4o-mini", 257),
            "max_tokens_exceeded"));
  }

  @ParameterizedTest(name = "{3}")
  @MethodSource("outsideTheGrant")
  void requestOutsideTheGrant_403(String method, String path, String body, String code) {
    HttpRequest.Builder request = stack.to(path)
        .header("authorization", "Bearer " + stack.issue().getToken());
    if (body == null) {
      request.method(method, HttpRequest.BodyPublishers.noBody());
    } else {
      request.header("content-type", "application/json")
          .method(method, HttpRequest.BodyPublishers.ofString(body));
    }
    assertError(stack.send(request.build()), 403, code);
    assertTrue(upstreamSaw().isEmpty());
  }

  // ---- 400 / 413 ----------------------------------------------------------------------

  @Test
  void invalidJson_400() {
    assertError(stack.postJson("/v1/chat/completions", stack.issue().getToken(),
        "{\"model\":\"gpt-4o-mini\","), 400, "body_not_json");
    assertTrue(upstreamSaw().isEmpty());
  }

  @Test
  void duplicateModelKeys_400() {
    assertError(stack.postJson("/v1/chat/completions", stack.issue().getToken(),
        "{\"model\":\"gpt-4o-mini\",\"max_tokens\":10,\"model\":\"gpt-4o\"}"), 400,
        "body_duplicate_key");
    assertTrue(upstreamSaw().isEmpty());
  }

  @Test
  void bodyOverTheBufferLimit_413() {
    String padding = "x".repeat(8 * 1024 * 1024 + 1);
    HttpResponse<String> response = stack.postJson("/v1/chat/completions",
        stack.issue().getToken(), "{\"model\":\"gpt-4o-mini\",\"max_tokens\":10,"
            + "\"messages\":[{\"role\":\"user\",\"content\":\"" + padding + "\"}]}");
    assertError(response, 413, "body_too_large");
    assertTrue(upstreamSaw().isEmpty());
  }

  @Test
  void largeBodyUnderTheLimit_inspectedAndForwardedWhole() {
    String padding = "y".repeat(6 * 1024 * 1024);
    String body = "{\"model\":\"gpt-4o-mini\",\"max_tokens\":10,"
        + "\"messages\":[{\"role\":\"user\",\"content\":\"" + padding + "\"}]}";
    HttpResponse<String> response =
        stack.postJson("/v1/chat/completions", stack.issue().getToken(), body);
    assertEquals(200, response.statusCode(), response.body());
    assertEquals(body.length(), stack.stack.fakeLlm().lastRequest().body().length);
  }

  // ---- the control plane ----------------------------------------------------------------

  @Test
  void issueWithoutIssuerCredentials_unauthenticated() {
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
        () -> stack.tokens(null).issue(Stack.request()));
    assertEquals(Status.Code.UNAUTHENTICATED, e.getStatus().getCode());
    StatusRuntimeException wrong = assertThrows(StatusRuntimeException.class,
        () -> stack.tokens("pis_wrong").issue(Stack.request()));
    assertEquals(Status.Code.UNAUTHENTICATED, wrong.getStatus().getCode());
  }

  @Test
  void issueTtlOverMax_invalidArgumentNamingTheLimit() {
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
        () -> stack.issue(Stack.request().toBuilder()
            .setTtl(Duration.newBuilder().setSeconds(7200)).build()));
    assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
    assertEquals("ttl 2h exceeds max_ttl 1h", e.getStatus().getDescription());
  }

  // ---- the official OpenAI SDK ---------------------------------------------------------

  @Test
  void officialOpenAiPythonSdk_usesTheTokenAsItsApiKey() throws Exception {
    String python = System.getenv("PERISHABLE_PYTHON");
    org.junit.jupiter.api.Assumptions.assumeTrue(python != null && !python.isBlank(),
        "PERISHABLE_PYTHON not set: bin/test installs the openai SDK and sets it");
    String token = stack.issue().getToken();
    java.nio.file.Path script = java.nio.file.Path.of("src/test/python/openai_client.py")
        .toAbsolutePath();
    ProcessBuilder pb = new ProcessBuilder(python, script.toString(),
        stack.stack.envoyUrl() + "/v1").redirectErrorStream(true);
    pb.environment().put("OPENAI_API_KEY", token);
    Process process = pb.start();
    String output;
    try (InputStream in = process.getInputStream()) {
      output = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    assertTrue(process.waitFor(60, java.util.concurrent.TimeUnit.SECONDS));
    assertEquals(0, process.exitValue(), output);

    JsonNode result = Stack.json(output.lines().reduce((a, b) -> b).orElse("{}"));
    assertEquals("Hello from fake-llm.", result.at("/chat").asText(), output);
    assertEquals("Hello from fake-llm.", result.at("/stream").asText(), output);
    assertEquals(403, result.at("/denied_status").asInt(), output);
    assertEquals("model_not_allowed", result.at("/denied_code").asText(), output);
    assertEquals(2, upstreamSaw().size(), "the denied call never reached the provider");
    for (RecordedRequest r : upstreamSaw()) {
      assertEquals(List.of("Bearer " + stack.stack.openAiKey()), r.headerValues("authorization"));
      assertFalse(r.contains("prs_"));
    }
  }
}
