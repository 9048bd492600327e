package io.perishable.fakellm;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;

/**
 * What the fake upstream answers, decided by {@link FakeLlmRouter} and written to the wire by
 * {@link FakeLlmHandler}; nothing here knows about Netty.
 */
sealed interface Reply {

  /** The SSE frame that ends every OpenAI stream. */
  String DONE_FRAME = "data: [DONE]\n\n";

  int status();

  /** A complete JSON document with the given HTTP status. */
  record Json(int status, JsonNode body) implements Reply {}

  /**
   * A {@code 200 text/event-stream} answer; each element is one whole SSE frame (ending in a blank
   * line) and goes out as its own HTTP chunk, flushed on its own.
   */
  record EventStream(List<String> frames) implements Reply {
    public EventStream {
      frames = List.copyOf(frames);
    }

    @Override
    public int status() {
      return 200;
    }
  }

  /** An unnamed SSE frame, as OpenAI sends: {@code data: <json>}. */
  static String dataFrame(JsonNode data) {
    // JsonNode.toString() writes compact, valid JSON (Jackson 2.10+), never a newline.
    return "data: " + data + "\n\n";
  }

  /** A named SSE frame, as Anthropic sends: {@code event: <name>} then {@code data: <json>}. */
  static String namedFrame(String event, JsonNode data) {
    return "event: " + event + "\ndata: " + data + "\n\n";
  }
}
