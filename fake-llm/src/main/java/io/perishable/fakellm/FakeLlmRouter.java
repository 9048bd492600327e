package io.perishable.fakellm;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.time.Clock;
import java.util.List;
import java.util.Optional;

/**
 * Decides the answer to one recorded request: which endpoint, whether the credential is the
 * expected one, whether the body is JSON, and then which provider shape to return.
 *
 * <p>Checks run in the order the real providers apply them: unknown route (404), credential (401),
 * then request validity (400). Pure apart from reading the injected clock; it never throws, a bug
 * becomes a 500 reply.
 */
final class FakeLlmRouter {

  /** The endpoints served; everything else is a 404. */
  enum Endpoint {
    CHAT_COMPLETIONS("POST", "/v1/chat/completions", false),
    COMPLETIONS("POST", "/v1/completions", false),
    EMBEDDINGS("POST", "/v1/embeddings", false),
    MODELS("GET", "/v1/models", false),
    MESSAGES("POST", "/v1/messages", true);

    final String method;
    final String path;
    final boolean anthropic;

    Endpoint(String method, String path, boolean anthropic) {
      this.method = method;
      this.path = path;
      this.anthropic = anthropic;
    }

    static Optional<Endpoint> match(String method, String path) {
      for (Endpoint endpoint : values()) {
        if (endpoint.method.equals(method) && endpoint.path.equals(path)) {
          return Optional.of(endpoint);
        }
      }
      return Optional.empty();
    }
  }

  // Trailing garbage after the JSON object is a client bug worth a 400, as with the real APIs.
  private static final ObjectMapper JSON =
      JsonMapper.builder().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS).build();

  private static final String BEARER = "Bearer ";

  private final String expectedOpenAiKey;
  private final String expectedAnthropicKey;
  private final Clock clock;

  /**
   * @param expectedOpenAiKey the key OpenAI endpoints require as {@code Bearer}; null accepts any
   *     credential, including none
   * @param expectedAnthropicKey the key {@code /v1/messages} requires as {@code x-api-key}; null
   *     accepts any credential, including none
   * @param clock source of OpenAI's {@code created} timestamps
   */
  FakeLlmRouter(String expectedOpenAiKey, String expectedAnthropicKey, Clock clock) {
    this.expectedOpenAiKey = expectedOpenAiKey;
    this.expectedAnthropicKey = expectedAnthropicKey;
    this.clock = clock;
  }

  /**
   * Answers a request.
   *
   * @param request what arrived on the wire
   * @param requestId the journal id, used in response ids such as {@code chatcmpl-fake-<id>}
   */
  Reply route(RecordedRequest request, long requestId) {
    try {
      return decide(request, requestId);
    } catch (RuntimeException e) {
      return OpenAiApi.serverError("fake-llm failed to answer: " + e);
    }
  }

  private Reply decide(RecordedRequest request, long requestId) {
    String path = withoutQuery(request.path());
    Optional<Endpoint> matched = Endpoint.match(request.method(), path);
    if (matched.isEmpty()) {
      return OpenAiApi.notFound(request.method(), path);
    }
    Endpoint endpoint = matched.get();
    Optional<Reply> refusal =
        endpoint.anthropic ? checkAnthropicHeaders(request) : checkOpenAiHeaders(request);
    if (refusal.isPresent()) {
      return refusal.get();
    }
    if (endpoint == Endpoint.MODELS) {
      return OpenAiApi.models();
    }
    Optional<ObjectNode> body = parseObject(request.body());
    if (body.isEmpty()) {
      return endpoint.anthropic ? AnthropicApi.invalidJson() : OpenAiApi.invalidJson();
    }
    ApiCall call =
        new ApiCall(requestId, body.get(), request.body().length, clock.instant().getEpochSecond());
    switch (endpoint) {
      case CHAT_COMPLETIONS:
        return OpenAiApi.chatCompletion(call);
      case COMPLETIONS:
        return OpenAiApi.textCompletion(call);
      case EMBEDDINGS:
        return OpenAiApi.embeddings(call);
      case MESSAGES:
        return AnthropicApi.message(call);
      default:
        throw new IllegalStateException("no handler for " + endpoint);
    }
  }

  private Optional<Reply> checkOpenAiHeaders(RecordedRequest request) {
    if (expectedOpenAiKey == null) {
      return Optional.empty();
    }
    // Exactly one authorization header: a second one (say, a leftover prs_ token) is a failure.
    List<String> values = request.headerValues("authorization");
    boolean valid =
        values.size() == 1
            && values.get(0).regionMatches(true, 0, BEARER, 0, BEARER.length())
            && values.get(0).substring(BEARER.length()).equals(expectedOpenAiKey);
    return valid ? Optional.empty() : Optional.of(OpenAiApi.invalidApiKey());
  }

  private Optional<Reply> checkAnthropicHeaders(RecordedRequest request) {
    if (expectedAnthropicKey != null) {
      List<String> keys = request.headerValues("x-api-key");
      if (keys.size() != 1 || !keys.get(0).equals(expectedAnthropicKey)) {
        return Optional.of(AnthropicApi.invalidApiKey());
      }
    }
    if (request.headerValues("anthropic-version").isEmpty()) {
      return Optional.of(AnthropicApi.missingVersion());
    }
    return Optional.empty();
  }

  private static Optional<ObjectNode> parseObject(byte[] body) {
    try {
      JsonNode node = JSON.readTree(body);
      return node instanceof ObjectNode object ? Optional.of(object) : Optional.empty();
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  private static String withoutQuery(String target) {
    int query = target.indexOf('?');
    return query < 0 ? target : target.substring(0, query);
  }
}
