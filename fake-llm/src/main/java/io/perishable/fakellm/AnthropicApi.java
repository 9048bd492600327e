package io.perishable.fakellm;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;

/**
 * Anthropic's response shapes: the Messages API, its named-event stream, and the {@code {"type":
 * "error", ...}} envelope.
 */
final class AnthropicApi {

  static final String DEFAULT_MODEL = "claude-3-5-haiku-latest";

  private static final JsonNodeFactory JSON = JsonNodeFactory.instance;

  private AnthropicApi() {}

  /**
   * {@code POST /v1/messages}: one {@code message}, or with {@code "stream": true} the event
   * sequence {@code message_start}, {@code content_block_start}, one {@code content_block_delta}
   * per token, {@code content_block_stop}, {@code message_delta}, {@code message_stop}.
   */
  static Reply message(ApiCall call) {
    FakeCompletion answer = call.completion("max_tokens");
    String stopReason = answer.truncated() ? "max_tokens" : "end_turn";
    if (!call.stream()) {
      ObjectNode message = messageEnvelope(call);
      message.putArray("content").addObject().put("type", "text").put("text", answer.text());
      message.put("stop_reason", stopReason);
      message.putNull("stop_sequence");
      message
          .putObject("usage")
          .put("input_tokens", call.promptTokens())
          .put("output_tokens", answer.tokenCount());
      return new Reply.Json(200, message);
    }
    List<String> frames = new ArrayList<>();

    ObjectNode start = messageEnvelope(call);
    start.putArray("content");
    start.putNull("stop_reason");
    start.putNull("stop_sequence");
    // Output so far is zero; the final count arrives in message_delta.
    start.putObject("usage").put("input_tokens", call.promptTokens()).put("output_tokens", 0);
    ObjectNode messageStart = event("message_start");
    messageStart.set("message", start);
    frames.add(Reply.namedFrame("message_start", messageStart));

    ObjectNode blockStart = event("content_block_start").put("index", 0);
    blockStart.putObject("content_block").put("type", "text").put("text", "");
    frames.add(Reply.namedFrame("content_block_start", blockStart));

    for (String token : answer.tokens()) {
      ObjectNode delta = event("content_block_delta").put("index", 0);
      delta.putObject("delta").put("type", "text_delta").put("text", token);
      frames.add(Reply.namedFrame("content_block_delta", delta));
    }

    frames.add(Reply.namedFrame("content_block_stop", event("content_block_stop").put("index", 0)));

    ObjectNode messageDelta = event("message_delta");
    messageDelta.putObject("delta").put("stop_reason", stopReason).putNull("stop_sequence");
    messageDelta.putObject("usage").put("output_tokens", answer.tokenCount());
    frames.add(Reply.namedFrame("message_delta", messageDelta));

    frames.add(Reply.namedFrame("message_stop", event("message_stop")));
    return new Reply.EventStream(frames);
  }

  /** 401 exactly as Anthropic words it for a wrong, missing or duplicated {@code x-api-key}. */
  static Reply.Json invalidApiKey() {
    return error(401, "authentication_error", "invalid x-api-key");
  }

  /** 400 when the {@code anthropic-version} header is absent, as the real API insists on it. */
  static Reply.Json missingVersion() {
    return error(400, "invalid_request_error", "anthropic-version: header is required");
  }

  /** 400 for a body that is not a JSON object. */
  static Reply.Json invalidJson() {
    return error(400, "invalid_request_error", "Request body is not valid JSON.");
  }

  /** Anthropic's error envelope. */
  static Reply.Json error(int status, String type, String message) {
    ObjectNode body = JSON.objectNode().put("type", "error");
    body.putObject("error").put("type", type).put("message", message);
    return new Reply.Json(status, body);
  }

  private static ObjectNode messageEnvelope(ApiCall call) {
    return JSON.objectNode()
        .put("id", "msg_fake_" + call.requestId())
        .put("type", "message")
        .put("role", "assistant")
        .put("model", call.model(DEFAULT_MODEL));
  }

  private static ObjectNode event(String type) {
    return JSON.objectNode().put("type", type);
  }
}
