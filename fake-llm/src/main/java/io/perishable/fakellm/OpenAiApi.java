package io.perishable.fakellm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * OpenAI's response shapes: chat completions, legacy text completions, embeddings, the model list
 * and the {@code {"error": {...}}} envelope.
 *
 * <p>Shapes follow what the official SDKs parse, trimmed to the fields they require; values are
 * deterministic apart from {@code created}, which comes from the injected clock.
 */
final class OpenAiApi {

  static final String DEFAULT_CHAT_MODEL = "gpt-4o-mini";
  static final String DEFAULT_COMPLETION_MODEL = "gpt-3.5-turbo-instruct";
  static final String DEFAULT_EMBEDDING_MODEL = "text-embedding-3-small";

  /** Listed by {@code GET /v1/models}; any other model name is still accepted and echoed. */
  static final List<String> MODELS =
      List.of("gpt-4o-mini", "gpt-4o", "gpt-3.5-turbo-instruct", "text-embedding-3-small");

  /** Every input gets the same tiny vector, so tests can assert it exactly. */
  static final List<Float> EMBEDDING = List.of(0.1f, 0.2f, 0.3f);

  // A fixed date keeps GET /v1/models byte-for-byte stable between runs.
  private static final long MODELS_CREATED_EPOCH_SECOND = 1_700_000_000L;

  private static final JsonNodeFactory JSON = JsonNodeFactory.instance;

  private OpenAiApi() {}

  /** {@code POST /v1/chat/completions}: one {@code chat.completion}, or chunks ending in [DONE]. */
  static Reply chatCompletion(ApiCall call) {
    FakeCompletion answer = call.completion("max_tokens", "max_completion_tokens");
    String model = call.model(DEFAULT_CHAT_MODEL);
    String id = "chatcmpl-fake-" + call.requestId();
    if (!call.stream()) {
      ObjectNode message = JSON.objectNode().put("role", "assistant").put("content", answer.text());
      ObjectNode choice = JSON.objectNode().put("index", 0);
      choice.set("message", message);
      choice.putNull("logprobs");
      choice.put("finish_reason", finishReason(answer));
      ObjectNode response = envelope(id, "chat.completion", call, model);
      response.putArray("choices").add(choice);
      response.set("usage", usage(call, answer));
      return new Reply.Json(200, response);
    }
    List<ObjectNode> deltas = new ArrayList<>();
    // OpenAI opens with the role and an empty content, then one delta per token.
    deltas.add(JSON.objectNode().put("role", "assistant").put("content", ""));
    for (String token : answer.tokens()) {
      deltas.add(JSON.objectNode().put("content", token));
    }
    List<String> frames = new ArrayList<>();
    for (ObjectNode delta : deltas) {
      ObjectNode choice = JSON.objectNode().put("index", 0);
      choice.set("delta", delta);
      choice.putNull("logprobs");
      choice.putNull("finish_reason");
      frames.add(Reply.dataFrame(chunk(id, "chat.completion.chunk", call, model, choice)));
    }
    ObjectNode last = JSON.objectNode().put("index", 0);
    last.putObject("delta");
    last.putNull("logprobs");
    last.put("finish_reason", finishReason(answer));
    frames.add(Reply.dataFrame(chunk(id, "chat.completion.chunk", call, model, last)));
    return stream(frames, id, "chat.completion.chunk", call, model, answer);
  }

  /** {@code POST /v1/completions}: one legacy {@code text_completion}, or its streamed chunks. */
  static Reply textCompletion(ApiCall call) {
    FakeCompletion answer = call.completion("max_tokens");
    String model = call.model(DEFAULT_COMPLETION_MODEL);
    String id = "cmpl-fake-" + call.requestId();
    if (!call.stream()) {
      ObjectNode response = envelope(id, "text_completion", call, model);
      response.putArray("choices").add(textChoice(answer.text(), finishReason(answer)));
      response.set("usage", usage(call, answer));
      return new Reply.Json(200, response);
    }
    List<String> frames = new ArrayList<>();
    for (String token : answer.tokens()) {
      frames.add(
          Reply.dataFrame(chunk(id, "text_completion", call, model, textChoice(token, null))));
    }
    ObjectNode last = textChoice("", finishReason(answer));
    frames.add(Reply.dataFrame(chunk(id, "text_completion", call, model, last)));
    return stream(frames, id, "text_completion", call, model, answer);
  }

  /**
   * {@code POST /v1/embeddings}: one {@link #EMBEDDING} per input element. Honours {@code
   * "encoding_format": "base64"} (little-endian float32), which the official Python SDK asks for by
   * default.
   */
  static Reply embeddings(ApiCall call) {
    JsonNode input = call.body().get("input");
    int inputs;
    if (input != null && input.isTextual()) {
      inputs = 1;
    } else if (input != null && input.isArray() && !input.isEmpty()) {
      inputs = input.size();
    } else {
      return invalidRequest("'input' must be a string or a non-empty array", "input");
    }
    boolean base64 = "base64".equals(call.body().path("encoding_format").textValue());
    ObjectNode response = JSON.objectNode().put("object", "list");
    ArrayNode data = response.putArray("data");
    for (int index = 0; index < inputs; index++) {
      ObjectNode embedding = JSON.objectNode().put("object", "embedding").put("index", index);
      if (base64) {
        embedding.put("embedding", embeddingAsBase64());
      } else {
        ArrayNode vector = embedding.putArray("embedding");
        EMBEDDING.forEach(vector::add);
      }
      data.add(embedding);
    }
    response.put("model", call.model(DEFAULT_EMBEDDING_MODEL));
    response
        .putObject("usage")
        .put("prompt_tokens", call.promptTokens())
        .put("total_tokens", call.promptTokens());
    return new Reply.Json(200, response);
  }

  /** {@code GET /v1/models}: the fixed {@link #MODELS} list. */
  static Reply models() {
    ObjectNode response = JSON.objectNode().put("object", "list");
    ArrayNode data = response.putArray("data");
    for (String model : MODELS) {
      data.addObject()
          .put("id", model)
          .put("object", "model")
          .put("created", MODELS_CREATED_EPOCH_SECOND)
          .put("owned_by", "fake-llm");
    }
    return new Reply.Json(200, response);
  }

  /** 401 exactly as OpenAI words it for a wrong, missing or duplicated bearer key. */
  static Reply.Json invalidApiKey() {
    return error(
        401, "Incorrect API key provided", "invalid_request_error", null, "invalid_api_key");
  }

  /** 400 for a body that is not a JSON object. */
  static Reply.Json invalidJson() {
    return error(
        400,
        "We could not parse the JSON body of your request. The OpenAI API expects a JSON payload,"
            + " but what was sent was not valid JSON.",
        "invalid_request_error",
        null,
        null);
  }

  /** 400 for a well-formed body that misses or misuses a field. */
  static Reply.Json invalidRequest(String message, String param) {
    return error(400, message, "invalid_request_error", param, null);
  }

  /** 404 for any method and path the fake does not serve, worded like OpenAI's. */
  static Reply.Json notFound(String method, String path) {
    return error(
        404, "Invalid URL (" + method + " " + path + ")", "invalid_request_error", null, null);
  }

  /** 500 for a bug in the fake itself, so a client sees an answer instead of a dropped socket. */
  static Reply.Json serverError(String message) {
    return error(500, message, "server_error", null, null);
  }

  /** OpenAI's error envelope; null {@code param} or {@code code} become JSON nulls. */
  static Reply.Json error(int status, String message, String type, String param, String code) {
    ObjectNode error = JSON.objectNode().put("message", message).put("type", type);
    error.put("param", param);
    error.put("code", code);
    ObjectNode body = JSON.objectNode();
    body.set("error", error);
    return new Reply.Json(status, body);
  }

  private static Reply stream(
      List<String> frames,
      String id,
      String object,
      ApiCall call,
      String model,
      FakeCompletion answer) {
    List<String> all = new ArrayList<>(frames);
    if (call.includeUsage()) {
      // OpenAI's usage chunk has an empty choices array and comes just before [DONE].
      ObjectNode usageChunk = envelope(id, object, call, model);
      usageChunk.putArray("choices");
      usageChunk.set("usage", usage(call, answer));
      all.add(Reply.dataFrame(usageChunk));
    }
    all.add(Reply.DONE_FRAME);
    return new Reply.EventStream(all);
  }

  private static ObjectNode chunk(
      String id, String object, ApiCall call, String model, ObjectNode choice) {
    ObjectNode chunk = envelope(id, object, call, model);
    chunk.putArray("choices").add(choice);
    if (call.includeUsage()) {
      // With include_usage every chunk but the last carries an explicit null.
      chunk.putNull("usage");
    }
    return chunk;
  }

  private static ObjectNode envelope(String id, String object, ApiCall call, String model) {
    return JSON.objectNode()
        .put("id", id)
        .put("object", object)
        .put("created", call.createdEpochSecond())
        .put("model", model);
  }

  private static ObjectNode textChoice(String text, String finishReason) {
    ObjectNode choice = JSON.objectNode().put("text", text).put("index", 0);
    choice.putNull("logprobs");
    choice.put("finish_reason", finishReason);
    return choice;
  }

  private static ObjectNode usage(ApiCall call, FakeCompletion answer) {
    return JSON.objectNode()
        .put("prompt_tokens", call.promptTokens())
        .put("completion_tokens", answer.tokenCount())
        .put("total_tokens", call.promptTokens() + answer.tokenCount());
  }

  private static String finishReason(FakeCompletion answer) {
    return answer.truncated() ? "length" : "stop";
  }

  private static String embeddingAsBase64() {
    ByteBuffer bytes = ByteBuffer.allocate(EMBEDDING.size() * Float.BYTES);
    bytes.order(ByteOrder.LITTLE_ENDIAN);
    EMBEDDING.forEach(bytes::putFloat);
    return Base64.getEncoder().encodeToString(bytes.array());
  }
}
