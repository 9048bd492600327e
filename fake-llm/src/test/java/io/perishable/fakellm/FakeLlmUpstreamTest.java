package io.perishable.fakellm;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.perishable.fakellm.RawHttpConnection.RawResponse;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandler;
import java.net.http.HttpResponse.BodyHandlers;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The fake upstream over real loopback HTTP, as Envoy and the integration tests see it. */
class FakeLlmUpstreamTest {

  private static final String OPENAI_KEY = "sk-real-openai";
  private static final String ANTHROPIC_KEY = "sk-ant-real";
  private static final String CHAT =
      "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
  private static final String STREAMED_CHAT =
      "{\"model\":\"gpt-4o\",\"stream\":true,"
          + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
  private static final String MESSAGE =
      "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":64,"
          + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
  private static final String STREAMED_MESSAGE =
      "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":64,\"stream\":true,"
          + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

  private static final ObjectMapper JSON = new ObjectMapper();

  // One client per test: a pooled connection must never outlive the server it points at.
  private final HttpClient client =
      HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
  private FakeLlmUpstream upstream;

  @BeforeEach
  void startUpstream() {
    upstream = FakeLlmUpstream.start(0, OPENAI_KEY, ANTHROPIC_KEY);
  }

  @AfterEach
  void stopUpstream() {
    upstream.close();
  }

  // --- recording -------------------------------------------------------------------------------

  @Test
  void request_recordsMethodTargetAndBody_withLowerCasedRepeatedHeadersInArrivalOrder() {
    try (RawHttpConnection connection = RawHttpConnection.open(upstream.port())) {
      connection.post(
          "/v1/chat/completions?trace=1",
          CHAT,
          "X-Tag: second-sorted-first",
          "Authorization: Bearer " + OPENAI_KEY,
          "X-Tag: repeated");
    }

    RecordedRequest seen = upstream.lastRequest();
    assertEquals("POST", seen.method());
    assertEquals("/v1/chat/completions?trace=1", seen.path());
    assertEquals(CHAT, seen.bodyText());
    assertEquals(
        List.of(
            Map.entry("host", "127.0.0.1"),
            Map.entry("x-tag", "second-sorted-first"),
            Map.entry("authorization", "Bearer " + OPENAI_KEY),
            Map.entry("x-tag", "repeated"),
            Map.entry("content-type", "application/json"),
            Map.entry("content-length", String.valueOf(CHAT.length()))),
        seen.headers());
  }

  @Test
  void heldRequest_recordedAtOnce_answeredOnlyWhenReleased() throws Exception {
    HttpRequest held = post("/v1/chat/completions", CHAT)
        .header("authorization", "Bearer " + OPENAI_KEY).header("x-fake-llm-hold", "h1").build();

    var pending = client.sendAsync(held, BodyHandlers.ofString());
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (upstream.requests().isEmpty()) {
      assertTrue(System.nanoTime() < deadline, "the held request was never recorded");
      Thread.onSpinWait();
    }
    HttpResponse<String> other = send(openAi("/v1/chat/completions", CHAT));

    assertEquals(200, other.statusCode(), "a request without the hold is answered at once");
    assertFalse(pending.isDone(), "held until released");
    upstream.release("h1");
    assertEquals(200, pending.get(10, java.util.concurrent.TimeUnit.SECONDS).statusCode());
    assertEquals(200, send(held).statusCode(), "a released hold holds nothing more");
  }

  @Test
  void request_recordedEvenWhenDenied() {
    HttpResponse<String> response =
        send(post("/v1/chat/completions", CHAT).header("authorization", "Bearer prs_abc").build());

    assertEquals(401, response.statusCode());
    assertEquals(Optional.of("Bearer prs_abc"), upstream.lastRequest().header("authorization"));
  }

  @Test
  void recordedRequest_contains_findsTokenInHeaderAndBody() {
    send(
        post("/v1/chat/completions", "{\"messages\":\"paste prs_body_token here\"}")
            .header("authorization", "Bearer prs_header_token")
            .build());

    RecordedRequest seen = upstream.lastRequest();
    assertTrue(seen.contains("prs_header_token"));
    assertTrue(seen.contains("prs_body_token"));
    assertFalse(seen.contains("prs_never_sent"));
  }

  @Test
  void realKeyArrived_andNoPrsTokenDid() {
    send(openAi("/v1/chat/completions", CHAT));

    RecordedRequest seen = upstream.lastRequest();
    assertEquals(Optional.of("Bearer " + OPENAI_KEY), seen.header("authorization"));
    assertFalse(seen.contains("prs_"));
  }

  @Test
  void chunkedRequestBody_acceptedAndRecordedWithItsFraming() {
    byte[] body = CHAT.getBytes(UTF_8);
    HttpRequest request =
        HttpRequest.newBuilder(uri("/v1/chat/completions"))
            .header("authorization", "Bearer " + OPENAI_KEY)
            // An input stream has no known length, so the client must send it chunked.
            .POST(BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(body)))
            .build();

    HttpResponse<String> response = send(request);

    assertEquals(200, response.statusCode());
    RecordedRequest seen = upstream.lastRequest();
    assertEquals(CHAT, seen.bodyText());
    assertEquals(Optional.of("chunked"), seen.header("transfer-encoding"));
    assertEquals(Optional.empty(), seen.header("content-length"));
  }

  @Test
  void everyResponse_carriesRequestId_inArrivalOrder() {
    List<HttpResponse<String>> responses =
        List.of(
            send(openAi("/v1/chat/completions", CHAT)),
            send(openAi("/v1/nope", "{}")),
            send(post("/v1/embeddings", "{}").header("authorization", "Bearer wrong").build()));

    List<String> ids = new ArrayList<>();
    responses.forEach(r -> ids.add(r.headers().firstValue("x-fake-llm-request-id").orElse("")));
    assertEquals(List.of("1", "2", "3"), ids);
    assertEquals(
        List.of("/v1/chat/completions", "/v1/nope", "/v1/embeddings"),
        upstream.requests().stream().map(RecordedRequest::path).toList());
  }

  @Test
  void requests_isAnImmutableSnapshot() {
    send(openAi("/v1/chat/completions", CHAT));
    List<RecordedRequest> snapshot = upstream.requests();

    send(openAi("/v1/chat/completions", CHAT));

    assertEquals(1, snapshot.size());
    assertEquals(2, upstream.requests().size());
    assertThrows(UnsupportedOperationException.class, () -> snapshot.add(snapshot.get(0)));
  }

  @Test
  void lastRequest_beforeAnyRequest_throwsIllegalState() {
    assertThrows(IllegalStateException.class, upstream::lastRequest);
  }

  @Test
  void clear_forgetsRequests_butIdsKeepCounting() {
    send(openAi("/v1/chat/completions", CHAT));

    upstream.clear();

    assertEquals(List.of(), upstream.requests());
    HttpResponse<String> next = send(openAi("/v1/chat/completions", CHAT));
    assertEquals(Optional.of("2"), next.headers().firstValue("x-fake-llm-request-id"));
    assertEquals(1, upstream.requests().size());
  }

  // --- credentials -----------------------------------------------------------------------------

  @ParameterizedTest
  @CsvSource({
    "POST, /v1/chat/completions",
    "POST, /v1/completions",
    "POST, /v1/embeddings",
    "GET, /v1/models"
  })
  void openAiEndpoint_wrongBearerKey_401WithOpenAiErrorShape(String method, String path) {
    HttpRequest request =
        HttpRequest.newBuilder(uri(path))
            .header("authorization", "Bearer prs_live_token")
            .method(method, bodyFor(method, CHAT))
            .build();

    HttpResponse<String> response = send(request);

    assertEquals(401, response.statusCode());
    assertEquals(
        json(
            "{\"error\":{\"message\":\"Incorrect API key provided\","
                + "\"type\":\"invalid_request_error\",\"param\":null,"
                + "\"code\":\"invalid_api_key\"}}"),
        json(response.body()));
  }

  @Test
  void chatCompletion_noAuthorizationHeader_401() {
    assertEquals(401, send(post("/v1/chat/completions", CHAT).build()).statusCode());
  }

  @Test
  void messages_wrongApiKey_401WithAnthropicErrorShape() {
    HttpRequest request =
        post("/v1/messages", MESSAGE)
            .header("x-api-key", "prs_live_token")
            .header("anthropic-version", "2023-06-01")
            .build();

    HttpResponse<String> response = send(request);

    assertEquals(401, response.statusCode());
    assertEquals(
        json(
            "{\"type\":\"error\",\"error\":{\"type\":\"authentication_error\","
                + "\"message\":\"invalid x-api-key\"}}"),
        json(response.body()));
  }

  @Test
  void messages_realKeySentAsBearerInsteadOfApiKey_401() {
    HttpRequest request =
        post("/v1/messages", MESSAGE)
            .header("authorization", "Bearer " + ANTHROPIC_KEY)
            .header("anthropic-version", "2023-06-01")
            .build();

    assertEquals(401, send(request).statusCode());
  }

  @Test
  void messages_withoutAnthropicVersion_400() {
    HttpRequest request = post("/v1/messages", MESSAGE).header("x-api-key", ANTHROPIC_KEY).build();

    HttpResponse<String> response = send(request);

    assertEquals(400, response.statusCode());
    assertEquals("invalid_request_error", json(response.body()).at("/error/type").textValue());
  }

  @Test
  void noKeysConfigured_anyCredentialAccepted() {
    try (FakeLlmUpstream open = FakeLlmUpstream.start(0, null, null)) {
      URI chat = URI.create("http://127.0.0.1:" + open.port() + "/v1/chat/completions");
      URI messages = URI.create("http://127.0.0.1:" + open.port() + "/v1/messages");

      HttpResponse<String> openAi =
          send(HttpRequest.newBuilder(chat).POST(BodyPublishers.ofString(CHAT)).build());
      HttpResponse<String> anthropic =
          send(
              HttpRequest.newBuilder(messages)
                  .header("x-api-key", "anything")
                  .header("anthropic-version", "2023-06-01")
                  .POST(BodyPublishers.ofString(MESSAGE))
                  .build());

      assertEquals(200, openAi.statusCode());
      assertEquals(200, anthropic.statusCode());
    }
  }

  // --- OpenAI shapes ---------------------------------------------------------------------------

  @Test
  void chatCompletion_nonStreaming_returnsChatCompletionEchoingModel() {
    HttpResponse<String> response = send(openAi("/v1/chat/completions", CHAT));

    assertEquals(200, response.statusCode());
    assertEquals(Optional.of("application/json"), response.headers().firstValue("content-type"));
    JsonNode body = json(response.body());
    assertEquals("chatcmpl-fake-1", body.get("id").textValue());
    assertEquals("chat.completion", body.get("object").textValue());
    assertTrue(body.get("created").isIntegralNumber());
    assertEquals("gpt-4o", body.get("model").textValue());
    assertEquals(
        json(
            "{\"index\":0,\"logprobs\":null,\"finish_reason\":\"stop\","
                + "\"message\":{\"role\":\"assistant\",\"content\":\"Hello from fake-llm.\"}}"),
        body.at("/choices/0"));
    assertEquals(1, body.get("choices").size());
    assertEquals(usage(CHAT, 5), body.get("usage"));
  }

  @Test
  void chatCompletion_streamTrue_sendsSseChunksThenDone() {
    StreamedResponse response = sendForLines(openAi("/v1/chat/completions", STREAMED_CHAT));

    assertEquals(200, response.statusCode());
    assertEquals(Optional.of("text/event-stream"), response.headers().firstValue("content-type"));
    List<String> data = dataPayloads(response.lines());
    assertEquals("[DONE]", data.get(data.size() - 1));
    List<JsonNode> chunks = data.subList(0, data.size() - 1).stream().map(this::json).toList();
    assertTrue(chunks.size() >= 3, "several chunks, got " + chunks.size());
    StringBuilder content = new StringBuilder();
    for (JsonNode chunk : chunks) {
      assertEquals("chatcmpl-fake-1", chunk.get("id").textValue());
      assertEquals("chat.completion.chunk", chunk.get("object").textValue());
      assertEquals("gpt-4o", chunk.get("model").textValue());
      assertFalse(chunk.has("usage"), "no usage without include_usage");
      content.append(chunk.at("/choices/0/delta/content").asText(""));
    }
    assertEquals("assistant", chunks.get(0).at("/choices/0/delta/role").textValue());
    assertEquals("Hello from fake-llm.", content.toString());
    assertEquals("stop", chunks.get(chunks.size() - 1).at("/choices/0/finish_reason").textValue());
    assertTrue(chunks.get(1).at("/choices/0/finish_reason").isNull());
  }

  @Test
  void chatCompletion_streamWithIncludeUsage_sendsUsageChunkJustBeforeDone() {
    String request =
        "{\"model\":\"gpt-4o\",\"stream\":true,\"stream_options\":{\"include_usage\":true},"
            + "\"messages\":[]}";

    List<String> data = dataPayloads(sendForLines(openAi("/v1/chat/completions", request)).lines());

    assertEquals("[DONE]", data.get(data.size() - 1));
    JsonNode usageChunk = json(data.get(data.size() - 2));
    assertEquals(json("[]"), usageChunk.get("choices"));
    assertEquals(usage(request, 5), usageChunk.get("usage"));
    JsonNode contentChunk = json(data.get(1));
    assertTrue(contentChunk.get("usage").isNull(), "other chunks carry usage: null");
  }

  @Test
  void chatCompletion_streamTrue_eachSseEventIsItsOwnHttpChunk() {
    RawResponse response;
    try (RawHttpConnection connection = RawHttpConnection.open(upstream.port())) {
      response =
          connection.post(
              "/v1/chat/completions", STREAMED_CHAT, "authorization: Bearer " + OPENAI_KEY);
    }

    assertEquals("chunked", response.headers().get("transfer-encoding"));
    // role, five tokens, the finish chunk, then [DONE]
    assertEquals(8, response.chunks().size());
    response.chunks().forEach(FakeLlmUpstreamTest::assertSingleSseEvent);
    assertEquals("data: [DONE]\n\n", response.chunks().get(7));
  }

  @Test
  void textCompletion_nonStreaming_returnsTextCompletion() {
    String request = "{\"model\":\"gpt-3.5-turbo-instruct\",\"prompt\":\"Say hi\"}";

    JsonNode body = json(send(openAi("/v1/completions", request)).body());

    assertEquals("cmpl-fake-1", body.get("id").textValue());
    assertEquals("text_completion", body.get("object").textValue());
    assertEquals("gpt-3.5-turbo-instruct", body.get("model").textValue());
    assertEquals("Hello from fake-llm.", body.at("/choices/0/text").textValue());
    assertEquals("stop", body.at("/choices/0/finish_reason").textValue());
    assertEquals(usage(request, 5), body.get("usage"));
  }

  @Test
  void textCompletion_streamTrue_sendsTextChunksThenDone() {
    String request = "{\"model\":\"gpt-3.5-turbo-instruct\",\"prompt\":\"Say hi\",\"stream\":true}";

    List<String> data = dataPayloads(sendForLines(openAi("/v1/completions", request)).lines());

    assertEquals("[DONE]", data.get(data.size() - 1));
    StringBuilder text = new StringBuilder();
    for (String payload : data.subList(0, data.size() - 1)) {
      JsonNode chunk = json(payload);
      assertEquals("text_completion", chunk.get("object").textValue());
      text.append(chunk.at("/choices/0/text").textValue());
    }
    assertEquals("Hello from fake-llm.", text.toString());
    assertEquals("stop", json(data.get(data.size() - 2)).at("/choices/0/finish_reason").asText());
  }

  @Test
  void embeddings_stringInput_returnsOneVector() {
    String request = "{\"model\":\"text-embedding-3-small\",\"input\":\"hello\"}";

    HttpResponse<String> response = send(openAi("/v1/embeddings", request));

    int tokens = promptTokens(request);
    assertEquals(
        json(
            "{\"object\":\"list\",\"data\":[{\"object\":\"embedding\",\"index\":0,"
                + "\"embedding\":[0.1,0.2,0.3]}],\"model\":\"text-embedding-3-small\","
                + "\"usage\":{\"prompt_tokens\":"
                + tokens
                + ",\"total_tokens\":"
                + tokens
                + "}}"),
        json(response.body()));
  }

  @Test
  void embeddings_arrayInput_returnsOneVectorPerElement() {
    String request = "{\"model\":\"text-embedding-3-small\",\"input\":[\"a\",\"b\",\"c\"]}";

    JsonNode data = json(send(openAi("/v1/embeddings", request)).body()).get("data");

    assertEquals(3, data.size());
    for (int i = 0; i < 3; i++) {
      assertEquals(i, data.get(i).get("index").intValue());
      assertEquals(json("[0.1,0.2,0.3]"), data.get(i).get("embedding"));
    }
  }

  @Test
  void models_listsFakeModels() {
    HttpRequest request =
        HttpRequest.newBuilder(uri("/v1/models"))
            .header("authorization", "Bearer " + OPENAI_KEY)
            .GET()
            .build();

    JsonNode body = json(send(request).body());

    assertEquals("list", body.get("object").textValue());
    List<String> ids = new ArrayList<>();
    body.get("data").forEach(model -> ids.add(model.get("id").textValue()));
    assertTrue(ids.contains("gpt-4o-mini"), ids.toString());
    assertTrue(ids.size() >= 2, ids.toString());
    body.get("data").forEach(model -> assertEquals("model", model.get("object").textValue()));
  }

  @Test
  void chatCompletion_bodyNotJson_400WithOpenAiErrorShape() {
    HttpResponse<String> response = send(openAi("/v1/chat/completions", "model=gpt-4o"));

    assertEquals(400, response.statusCode());
    assertEquals("invalid_request_error", json(response.body()).at("/error/type").textValue());
  }

  // --- Anthropic shapes ------------------------------------------------------------------------

  @Test
  void messages_nonStreaming_returnsAnthropicMessage() {
    HttpResponse<String> response = send(anthropic(MESSAGE));

    assertEquals(200, response.statusCode());
    assertEquals(
        json(
            "{\"id\":\"msg_fake_1\",\"type\":\"message\",\"role\":\"assistant\","
                + "\"model\":\"claude-sonnet-4-5\","
                + "\"content\":[{\"type\":\"text\",\"text\":\"Hello from fake-llm.\"}],"
                + "\"stop_reason\":\"end_turn\",\"stop_sequence\":null,"
                + "\"usage\":{\"input_tokens\":"
                + promptTokens(MESSAGE)
                + ",\"output_tokens\":5}}"),
        json(response.body()));
  }

  @Test
  void messages_streamTrue_sendsAnthropicEventSequence() {
    StreamedResponse response = sendForLines(anthropic(STREAMED_MESSAGE));

    assertEquals(Optional.of("text/event-stream"), response.headers().firstValue("content-type"));
    List<String> names =
        response.lines().stream()
            .filter(line -> line.startsWith("event: "))
            .map(line -> line.substring("event: ".length()))
            .toList();
    assertEquals(
        List.of(
            "message_start",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_delta",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"),
        names);
    List<JsonNode> data = dataPayloads(response.lines()).stream().map(this::json).toList();
    for (int i = 0; i < names.size(); i++) {
      assertEquals(names.get(i), data.get(i).get("type").textValue(), "data type matches event");
    }
    assertEquals("msg_fake_1", data.get(0).at("/message/id").textValue());
    assertEquals(
        promptTokens(STREAMED_MESSAGE), data.get(0).at("/message/usage/input_tokens").intValue());
    StringBuilder text = new StringBuilder();
    data.subList(2, 7).forEach(delta -> text.append(delta.at("/delta/text").textValue()));
    assertEquals("Hello from fake-llm.", text.toString());
    assertEquals("text_delta", data.get(2).at("/delta/type").textValue());
    assertEquals("end_turn", data.get(8).at("/delta/stop_reason").textValue());
    assertEquals(5, data.get(8).at("/usage/output_tokens").intValue());
  }

  @Test
  void messages_streamTrue_eachEventIsItsOwnHttpChunk() {
    RawResponse response;
    try (RawHttpConnection connection = RawHttpConnection.open(upstream.port())) {
      response =
          connection.post(
              "/v1/messages",
              STREAMED_MESSAGE,
              "x-api-key: " + ANTHROPIC_KEY,
              "anthropic-version: 2023-06-01");
    }

    assertEquals(10, response.chunks().size());
    response.chunks().forEach(FakeLlmUpstreamTest::assertSingleSseEvent);
  }

  @Test
  void messages_bodyNotJson_400WithAnthropicErrorShape() {
    HttpResponse<String> response = send(anthropic("{not json"));

    assertEquals(400, response.statusCode());
    JsonNode body = json(response.body());
    assertEquals("error", body.get("type").textValue());
    assertEquals("invalid_request_error", body.at("/error/type").textValue());
  }

  // --- routing and connection handling ---------------------------------------------------------

  @Test
  void unknownPath_404WithOpenAiErrorShape() {
    HttpResponse<String> response = send(openAi("/v1/nope", "{}"));

    assertEquals(404, response.statusCode());
    assertEquals(
        json(
            "{\"error\":{\"message\":\"Invalid URL (POST /v1/nope)\","
                + "\"type\":\"invalid_request_error\",\"param\":null,\"code\":null}}"),
        json(response.body()));
    assertEquals("/v1/nope", upstream.lastRequest().path());
  }

  @Test
  void keepAlive_answersSeveralRequestsOnOneConnection() {
    List<RawResponse> responses = new ArrayList<>();
    try (RawHttpConnection connection = RawHttpConnection.open(upstream.port())) {
      String auth = "authorization: Bearer " + OPENAI_KEY;
      responses.add(connection.post("/v1/chat/completions", STREAMED_CHAT, auth));
      responses.add(connection.post("/v1/chat/completions", CHAT, auth));
      responses.add(connection.post("/v1/nope", "{}", auth));
    }

    assertEquals(
        List.of("HTTP/1.1 200 OK", "HTTP/1.1 200 OK", "HTTP/1.1 404 Not Found"),
        responses.stream().map(RawResponse::statusLine).toList());
    responses.forEach(r -> assertNotEquals("close", r.headers().get("connection")));
    assertEquals(3, upstream.requests().size());
  }

  @Test
  void close_isIdempotent_andReleasesThePort() {
    int port = upstream.port();

    upstream.close();
    upstream.close();

    try (FakeLlmUpstream again = FakeLlmUpstream.start(port, null, null)) {
      assertEquals(port, again.port());
    }
  }

  @Test
  void start_portAlreadyInUse_throwsIllegalState() {
    IllegalStateException e =
        assertThrows(
            IllegalStateException.class, () -> FakeLlmUpstream.start(upstream.port(), null, null));

    assertEquals("fake-llm could not listen on 127.0.0.1:" + upstream.port(), e.getMessage());
  }

  // --- helpers ---------------------------------------------------------------------------------

  /** A response whose body was read as lines, as an SSE client reads it. */
  private record StreamedResponse(int statusCode, HttpHeaders headers, List<String> lines) {}

  private URI uri(String path) {
    return URI.create("http://127.0.0.1:" + upstream.port() + path);
  }

  private HttpRequest.Builder post(String path, String body) {
    return HttpRequest.newBuilder(uri(path))
        .header("content-type", "application/json")
        .POST(BodyPublishers.ofString(body));
  }

  private HttpRequest openAi(String path, String body) {
    return post(path, body).header("authorization", "Bearer " + OPENAI_KEY).build();
  }

  private HttpRequest anthropic(String body) {
    return post("/v1/messages", body)
        .header("x-api-key", ANTHROPIC_KEY)
        .header("anthropic-version", "2023-06-01")
        .build();
  }

  private static HttpRequest.BodyPublisher bodyFor(String method, String body) {
    return method.equals("GET") ? BodyPublishers.noBody() : BodyPublishers.ofString(body);
  }

  private HttpResponse<String> send(HttpRequest request) {
    return send(request, BodyHandlers.ofString());
  }

  /** Reads the body line by line, the way an SSE client consumes a stream. */
  private StreamedResponse sendForLines(HttpRequest request) {
    HttpResponse<Stream<String>> response = send(request, BodyHandlers.ofLines());
    List<String> lines;
    try (Stream<String> body = response.body()) {
      lines = body.toList();
    }
    return new StreamedResponse(response.statusCode(), response.headers(), lines);
  }

  private <T> HttpResponse<T> send(HttpRequest request, BodyHandler<T> handler) {
    try {
      return client.send(request, handler);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted", e);
    }
  }

  private static List<String> dataPayloads(List<String> lines) {
    return lines.stream()
        .filter(line -> line.startsWith("data: "))
        .map(line -> line.substring("data: ".length()))
        .toList();
  }

  private static void assertSingleSseEvent(String chunk) {
    assertTrue(
        chunk.endsWith("\n\n") && chunk.indexOf("\n\n") == chunk.length() - 2,
        "one whole SSE event per chunk, got: " + chunk);
  }

  private static int promptTokens(String requestBody) {
    return Math.max(1, requestBody.getBytes(UTF_8).length / 4);
  }

  private JsonNode usage(String requestBody, int completionTokens) {
    int prompt = promptTokens(requestBody);
    return json(
        "{\"prompt_tokens\":"
            + prompt
            + ",\"completion_tokens\":"
            + completionTokens
            + ",\"total_tokens\":"
            + (prompt + completionTokens)
            + "}");
  }

  private JsonNode json(String text) {
    try {
      return JSON.readTree(text);
    } catch (JsonProcessingException e) {
      throw new AssertionError("not JSON: " + text, e);
    }
  }
}
