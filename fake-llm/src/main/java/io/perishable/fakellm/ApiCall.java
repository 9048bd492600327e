package io.perishable.fakellm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.OptionalInt;

/**
 * A request that passed routing, credential and JSON checks, with the facts every response shape
 * needs.
 *
 * @param requestId the journal id, also used in response ids such as {@code chatcmpl-fake-7}
 * @param body the parsed JSON request body
 * @param bodyBytes the raw body length, from which prompt tokens are estimated
 * @param createdEpochSecond the injected clock's time, for OpenAI's {@code created} fields
 */
record ApiCall(long requestId, ObjectNode body, int bodyBytes, long createdEpochSecond) {

  /** The request's {@code model}, echoed back as providers do, or the fallback when absent. */
  String model(String fallback) {
    JsonNode model = body.get("model");
    return model != null && model.isTextual() ? model.textValue() : fallback;
  }

  /** True only for a JSON boolean {@code "stream": true}. */
  boolean stream() {
    return body.path("stream").booleanValue();
  }

  /** OpenAI's {@code stream_options.include_usage}: add a final chunk that carries usage. */
  boolean includeUsage() {
    return body.path("stream_options").path("include_usage").booleanValue();
  }

  int promptTokens() {
    return FakeCompletion.promptTokens(bodyBytes);
  }

  /**
   * The answer, cut to the smallest integer limit among the named fields that are present (for
   * chat, both {@code max_tokens} and {@code max_completion_tokens} are honoured).
   */
  FakeCompletion completion(String... limitFields) {
    OptionalInt limit = OptionalInt.empty();
    for (String field : limitFields) {
      JsonNode value = body.get(field);
      if (value != null && value.canConvertToInt() && value.isIntegralNumber()) {
        int candidate = value.intValue();
        limit =
            OptionalInt.of(limit.isPresent() ? Math.min(limit.getAsInt(), candidate) : candidate);
      }
    }
    return FakeCompletion.upTo(limit);
  }
}
