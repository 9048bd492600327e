package io.perishable.fakellm;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The routing and response decisions alone, without a socket. */
class FakeLlmRouterTest {

  private static final String OPENAI_KEY = "sk-real-openai";
  private static final String ANTHROPIC_KEY = "sk-ant-real";
  private static final Instant NOW = Instant.parse("2025-01-02T03:04:05Z");
  private static final ObjectMapper JSON = new ObjectMapper();

  private final FakeLlmRouter router =
      new FakeLlmRouter(OPENAI_KEY, ANTHROPIC_KEY, Clock.fixed(NOW, ZoneOffset.UTC));

  @Test
  void chatCompletion_createdComesFromTheClock() {
    JsonNode body = json(router.route(openAi("/v1/chat/completions", "{}"), 1));

    assertEquals(NOW.getEpochSecond(), body.get("created").longValue());
  }

  @Test
  void chatCompletion_maxTokensBelowFive_truncatesAndFinishesWithLength() {
    JsonNode body = json(router.route(openAi("/v1/chat/completions", "{\"max_tokens\":2}"), 1));

    JsonNode choice = body.at("/choices/0");
    assertEquals("Hello from", choice.at("/message/content").textValue());
    assertEquals("length", choice.get("finish_reason").textValue());
    assertEquals(2, body.at("/usage/completion_tokens").intValue());
  }

  @Test
  void chatCompletion_bothLimitsGiven_smallerWins() {
    String request = "{\"max_tokens\":4,\"max_completion_tokens\":1}";

    JsonNode body = json(router.route(openAi("/v1/chat/completions", request), 1));

    assertEquals("Hello", body.at("/choices/0/message/content").textValue());
  }

  @Test
  void chatCompletion_largeLimit_fullAnswerOfFiveTokens() {
    JsonNode body =
        json(router.route(openAi("/v1/chat/completions", "{\"max_completion_tokens\":900}"), 1));

    assertEquals("Hello from fake-llm.", body.at("/choices/0/message/content").textValue());
    assertEquals(5, body.at("/usage/completion_tokens").intValue());
  }

  @Test
  void chatCompletion_promptTokensAreAQuarterOfBodyBytes_atLeastOne() {
    String thirtyTwoBytes = "{\"model\":\"gpt-4o\",\"messages\":[]}";

    JsonNode usage = json(router.route(openAi("/v1/chat/completions", thirtyTwoBytes), 1));
    JsonNode tiny = json(router.route(openAi("/v1/chat/completions", "{}"), 2));

    assertEquals(8, usage.at("/usage/prompt_tokens").intValue());
    assertEquals(1, tiny.at("/usage/prompt_tokens").intValue());
  }

  @Test
  void chatCompletion_streamWithZeroTokenLimit_roleChunkThenLengthFinish() {
    Reply reply =
        router.route(openAi("/v1/chat/completions", "{\"stream\":true,\"max_tokens\":0}"), 1);

    List<String> frames = assertInstanceOf(Reply.EventStream.class, reply).frames();
    assertEquals(3, frames.size());
    assertEquals("length", data(frames.get(1)).at("/choices/0/finish_reason").textValue());
    assertEquals(Reply.DONE_FRAME, frames.get(2));
  }

  @Test
  void message_maxTokensTwo_stopsWithMaxTokens() {
    JsonNode body = json(router.route(anthropic("{\"max_tokens\":2}"), 9));

    assertEquals("msg_fake_9", body.get("id").textValue());
    assertEquals("Hello from", body.at("/content/0/text").textValue());
    assertEquals("max_tokens", body.get("stop_reason").textValue());
    assertEquals(2, body.at("/usage/output_tokens").intValue());
  }

  @Test
  void embeddings_base64Format_encodesLittleEndianFloat32() {
    String request = "{\"input\":\"hi\",\"encoding_format\":\"base64\"}";

    JsonNode body = json(router.route(openAi("/v1/embeddings", request), 1));

    ByteBuffer floats =
        ByteBuffer.wrap(Base64.getDecoder().decode(body.at("/data/0/embedding").textValue()))
            .order(ByteOrder.LITTLE_ENDIAN);
    assertEquals(
        List.of(0.1f, 0.2f, 0.3f),
        List.of(floats.getFloat(), floats.getFloat(), floats.getFloat()));
    assertEquals(0, floats.remaining());
  }

  @ParameterizedTest
  @ValueSource(strings = {"{}", "{\"input\":[]}", "{\"input\":42}"})
  void embeddings_missingOrEmptyInput_400NamingTheParam(String request) {
    Reply reply = router.route(openAi("/v1/embeddings", request), 1);

    assertEquals(400, reply.status());
    assertEquals("input", json(reply).at("/error/param").textValue());
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "not json", "[1,2]", "{\"a\":1} trailing", "\"text\""})
  void chatCompletion_bodyNotAJsonObject_400(String request) {
    Reply reply = router.route(openAi("/v1/chat/completions", request), 1);

    assertEquals(400, reply.status());
    assertEquals("invalid_request_error", json(reply).at("/error/type").textValue());
  }

  @Test
  void route_queryStringIgnoredForRouting() {
    assertEquals(200, router.route(anthropicAt("/v1/messages?beta=true", "{}"), 1).status());
  }

  @Test
  void route_bearerSchemeIsCaseInsensitive() {
    RecordedRequest request =
        request("POST", "/v1/chat/completions", "{}", "authorization", "bearer " + OPENAI_KEY);

    assertEquals(200, router.route(request, 1).status());
  }

  @Test
  void route_secondAuthorizationHeaderBesideTheRealKey_401() {
    RecordedRequest request =
        request(
            "POST",
            "/v1/chat/completions",
            "{}",
            "authorization",
            "Bearer " + OPENAI_KEY,
            "authorization",
            "Bearer prs_leftover");

    assertEquals(401, router.route(request, 1).status());
  }

  @Test
  void route_secondApiKeyBesideTheRealKey_401() {
    RecordedRequest request =
        request(
            "POST",
            "/v1/messages",
            "{}",
            "x-api-key",
            ANTHROPIC_KEY,
            "x-api-key",
            "prs_leftover",
            "anthropic-version",
            "2023-06-01");

    assertEquals(401, router.route(request, 1).status());
  }

  @Test
  void route_anthropicKeyWithoutVersionHeader_400() {
    Reply reply =
        router.route(request("POST", "/v1/messages", "{}", "x-api-key", ANTHROPIC_KEY), 1);

    assertEquals(400, reply.status());
    assertEquals(
        "anthropic-version: header is required", json(reply).at("/error/message").textValue());
  }

  @Test
  void route_wrongMethodOnKnownPath_404() {
    Reply reply = router.route(request("GET", "/v1/chat/completions", ""), 1);

    assertEquals(404, reply.status());
    assertEquals(
        "Invalid URL (GET /v1/chat/completions)", json(reply).at("/error/message").textValue());
  }

  private static RecordedRequest openAi(String path, String body) {
    return request("POST", path, body, "authorization", "Bearer " + OPENAI_KEY);
  }

  private static RecordedRequest anthropic(String body) {
    return anthropicAt("/v1/messages", body);
  }

  private static RecordedRequest anthropicAt(String path, String body) {
    return request(
        "POST", path, body, "x-api-key", ANTHROPIC_KEY, "anthropic-version", "2023-06-01");
  }

  /** Builds a request from alternating header names and values. */
  private static RecordedRequest request(
      String method, String path, String body, String... headerNamesAndValues) {
    List<Map.Entry<String, String>> headers = new ArrayList<>();
    for (int i = 0; i < headerNamesAndValues.length; i += 2) {
      headers.add(Map.entry(headerNamesAndValues[i], headerNamesAndValues[i + 1]));
    }
    return new RecordedRequest(method, path, headers, body.getBytes(UTF_8));
  }

  private static JsonNode json(Reply reply) {
    return assertInstanceOf(Reply.Json.class, reply).body();
  }

  private static JsonNode data(String frame) {
    try {
      return JSON.readTree(frame.substring("data: ".length()));
    } catch (Exception e) {
      throw new AssertionError("not a JSON data frame: " + frame, e);
    }
  }
}
