package io.perishable.authz.budget;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ResponseUsageReaderTest {
  private static final int MAX_EVENT = 64 * 1024;

  private static final String OPENAI_JSON = "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\","
      + "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"hi\"},"
      + "\"usage\":{\"prompt_tokens\":999}}],"
      + "\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":30,\"total_tokens\":42}}";

  private static final String ANTHROPIC_JSON = "{\"id\":\"msg_1\",\"type\":\"message\","
      + "\"content\":[{\"type\":\"text\",\"text\":\"hi\"}],"
      + "\"usage\":{\"input_tokens\":20,\"cache_read_input_tokens\":5,\"output_tokens\":7}}";

  private static final String OPENAI_SSE = ""
      + "data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}],\"usage\":null}\n\n"
      + "data: {\"choices\":[{\"delta\":{\"content\":\"lo\"}}],\"usage\":null}\n\n"
      + "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":2,"
      + "\"total_tokens\":11}}\n\n"
      + "data: [DONE]\n\n";

  private static final String ANTHROPIC_SSE = ""
      + "event: message_start\n"
      + "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\","
      + "\"usage\":{\"input_tokens\":25,\"output_tokens\":1}}}\n\n"
      + "event: content_block_delta\r\n"
      + "data: {\"type\":\"content_block_delta\",\"delta\":{\"text\":\"Hi\"}}\r\n\r\n"
      + "event: message_delta\n"
      + "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},"
      + "\"usage\":{\"output_tokens\":15}}\n\n"
      + "event: message_stop\n"
      + "data: {\"type\":\"message_stop\"}\n\n";

  /** Feeds {@code body} in chunks of {@code chunk} bytes, as Envoy would pass it on. */
  private static ResponseUsageReader read(String contentType, String body, int chunk) {
    ResponseUsageReader reader = ResponseUsageReader.forContentType(contentType, MAX_EVENT);
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    for (int i = 0; i < bytes.length; i += chunk) {
      reader.accept(bytes, i, Math.min(chunk, bytes.length - i));
    }
    return reader;
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 7, 4096})
  void openAiJson_topLevelUsageOnly(int chunk) {
    assertEquals(Optional.of(new ReportedUsage(12, 30)),
        read("application/json", OPENAI_JSON, chunk).finish());
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 13, 4096})
  void anthropicJson_cacheReadCountsAsInput(int chunk) {
    assertEquals(Optional.of(new ReportedUsage(25, 7)),
        read("application/json; charset=utf-8", ANTHROPIC_JSON, chunk).finish());
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 5, 4096})
  void openAiStream_includeUsageChunkSettles(int chunk) {
    assertEquals(Optional.of(new ReportedUsage(9, 2)),
        read("text/event-stream", OPENAI_SSE, chunk).finish());
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 3, 4096})
  void anthropicStream_messageStartInputAndLastMessageDeltaOutput(int chunk) {
    assertEquals(Optional.of(new ReportedUsage(25, 15)),
        read("text/event-stream", ANTHROPIC_SSE, chunk).finish());
  }

  @Test
  void stream_withoutUsage_empty() {
    String body = "data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}],\"usage\":null}\n\n"
        + "data: [DONE]\n\n";
    assertEquals(Optional.empty(), read("text/event-stream", body, 4096).finish());
  }

  @Test
  void stream_lastEventWithoutBlankLine_stillRead() {
    String body = "data: {\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4}}";
    assertEquals(Optional.of(new ReportedUsage(3, 4)),
        read("text/event-stream", body, 4096).finish());
  }

  @Test
  void stream_eventLongerThanLimit_skippedNotTruncated() {
    ResponseUsageReader reader = ResponseUsageReader.forContentType("text/event-stream", 64);
    String big = "data: {\"pad\":\"" + "x".repeat(100) + "\",\"usage\":{\"prompt_tokens\":1}}\n\n";
    byte[] bytes = big.getBytes(StandardCharsets.UTF_8);
    reader.accept(bytes, 0, bytes.length);
    assertEquals(Optional.empty(), reader.finish());
  }

  @Test
  void json_truncated_empty() {
    String cut = OPENAI_JSON.substring(0, OPENAI_JSON.length() - 1);
    assertEquals(Optional.empty(), read("application/json", cut, 4096).finish());
  }

  @Test
  void json_notJson_empty() {
    assertEquals(Optional.empty(), read("application/json", "<html>oops</html>", 4).finish());
  }

  @Test
  void json_negativeOrFractionalCounts_ignored() {
    String body = "{\"usage\":{\"prompt_tokens\":-5,\"completion_tokens\":2.5}}";
    assertEquals(Optional.empty(), read("application/json", body, 4096).finish());
  }

  @Test
  void completionHash_sha256OfExactBodyBytes() throws Exception {
    ResponseUsageReader reader = read("text/event-stream", ANTHROPIC_SSE, 3);
    reader.finish();
    byte[] expected = MessageDigest.getInstance("SHA-256")
        .digest(ANTHROPIC_SSE.getBytes(StandardCharsets.UTF_8));
    assertEquals(HexFormat.of().formatHex(expected), reader.completionHash());
  }
}
