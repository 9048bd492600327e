package io.perishable.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.perishable.fakellm.RecordedRequest;
import java.io.IOException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The completion hash through real Envoy: each forwarded request's audit trail gets a {@code
 * completion} record whose {@code completion_hash} is the SHA-256 of exactly the bytes the
 * (fake) provider sent, with the usage it reported, for a JSON answer and for a stream; the
 * completion's text never enters the audit log.
 */
class CompletionAuditIT {
  /** The fake model's answer is "Hello from fake-llm.", in pieces when streamed. */
  private static final List<String> COMPLETION_TEXT = List.of("Hello", "from fake", "-llm.");

  private static Stack stack;

  @BeforeAll
  static void start() {
    stack = new Stack();
  }

  @AfterAll
  static void stop() {
    stack.close();
  }

  @Test
  void jsonAnswer_completionHashIsTheSha256OfTheBytesTheProviderSent() throws Exception {
    String token = stack.issue().getToken();
    HttpResponse<String> ok = stack.postJson("/v1/chat/completions", token,
        Stack.chat("gpt-4o-mini", 16));
    assertEquals(200, ok.statusCode(), ok.body());
    byte[] sent = sentByTheProvider(ok);
    assertEquals(ok.body(), new String(sent, StandardCharsets.UTF_8), "what the client got");

    JsonNode completion = awaitCompletion(envoyRequestId());
    assertEquals(sha256(sent), completion.at("/attributes/completion_hash").asText());
    assertEquals("usage", completion.at("/attributes/metering").asText());
    JsonNode usage = Stack.json(ok.body()).get("usage");
    assertEquals(usage.get("prompt_tokens").asText(),
        completion.at("/attributes/input_tokens").asText());
    assertEquals(usage.get("completion_tokens").asText(),
        completion.at("/attributes/output_tokens").asText());
    assertEquals(200, completion.at("/status").asInt());
    assertJoinsItsUsedRecord(completion);
    assertTextNeverInTheAuditFiles(token);
  }

  @Test
  void stream_completionHashIsTheSha256OfEveryEventTheProviderSent() throws Exception {
    String token = stack.issue().getToken();
    HttpResponse<String> ok = stack.send(stack.to("/v1/chat/completions")
        .header("authorization", "Bearer " + token)
        .header("content-type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"gpt-4o-mini\","
            + "\"max_tokens\":64,\"stream\":true,\"stream_options\":{\"include_usage\":true},"
            + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"))
        .build());
    assertEquals(200, ok.statusCode(), ok.body());
    byte[] sent = sentByTheProvider(ok);
    assertTrue(new String(sent, StandardCharsets.UTF_8).contains("data: [DONE]"),
        "the whole stream was recorded");

    JsonNode completion = awaitCompletion(envoyRequestId());
    assertEquals(sha256(sent), completion.at("/attributes/completion_hash").asText());
    assertEquals("usage", completion.at("/attributes/metering").asText());
    JsonNode lastChunk = ok.body().lines().filter(l -> l.startsWith("data: {"))
        .map(l -> Stack.json(l.substring(6))).reduce((a, b) -> b).orElseThrow();
    assertEquals(lastChunk.at("/usage/completion_tokens").asText(),
        completion.at("/attributes/output_tokens").asText());
    assertJoinsItsUsedRecord(completion);
    assertTextNeverInTheAuditFiles(token);
  }

  @Test
  void streamCutByTheUpstream_hashCoversTheBytesThatPassed_meteringCut() throws Exception {
    String token = stack.issue().getToken();
    HttpRequest request = stack.to("/v1/chat/completions")
        .header("authorization", "Bearer " + token)
        .header("content-type", "application/json")
        .header("x-fake-llm-cut-after-frames", "2")
        .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"gpt-4o-mini\","
            + "\"max_tokens\":64,\"stream\":true,"
            + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"))
        .build();
    try {
      stack.http.send(request, HttpResponse.BodyHandlers.ofString());
    } catch (IOException expected) {
      // The upstream dropped the stream mid-way; Envoy resets it toward the client.
    }
    RecordedRequest seen = stack.stack.fakeLlm().lastRequest();
    String requestId = seen.header("x-request-id").orElseThrow();

    JsonNode completion = awaitCompletion(requestId);
    assertEquals("cut", completion.at("/attributes/metering").asText());
    assertTrue(completion.at("/attributes/output_tokens").isMissingNode(), completion.toString());
    assertTrue(completion.at("/attributes/completion_hash").asText().matches("[0-9a-f]{64}"));
  }

  /** The exact response body bytes the fake provider wrote for this response. */
  private static byte[] sentByTheProvider(HttpResponse<?> response) {
    long fakeId = Long.parseLong(response.headers().firstValue("x-fake-llm-request-id")
        .orElseThrow(() -> new AssertionError("no x-fake-llm-request-id")));
    return stack.stack.fakeLlm().responseBody(fakeId)
        .orElseThrow(() -> new AssertionError("fake-llm recorded no body for " + fakeId));
  }

  /** The x-request-id Envoy gave the last request (it forwards it to the provider). */
  private static String envoyRequestId() {
    return stack.stack.fakeLlm().lastRequest().header("x-request-id")
        .orElseThrow(() -> new AssertionError("Envoy sent no x-request-id upstream"));
  }

  private static void assertJoinsItsUsedRecord(JsonNode completion) throws IOException {
    String requestId = completion.at("/request_id").asText();
    Optional<JsonNode> used = records().stream()
        .filter(r -> r.at("/type").asText().equals("used"))
        .filter(r -> r.at("/request_id").asText().equals(requestId)).findFirst();
    assertTrue(used.isPresent(), "a used record with request id " + requestId);
    assertEquals(used.get().at("/token_id").asText(), completion.at("/token_id").asText());
  }

  private static void assertTextNeverInTheAuditFiles(String token) throws IOException {
    for (Path file : auditFiles()) {
      String text = Files.readString(file, StandardCharsets.UTF_8);
      for (String piece : COMPLETION_TEXT) {
        assertFalse(text.contains(piece), "completion text '" + piece + "' in " + file);
      }
      assertFalse(text.contains(token), "the token in " + file);
    }
  }

  private static JsonNode awaitCompletion(String requestId) throws Exception {
    Instant deadline = Instant.now().plusSeconds(30);
    while (true) {
      for (JsonNode r : records()) {
        if (r.at("/type").asText().equals("completion")
            && r.at("/request_id").asText().equals(requestId)) {
          return r;
        }
      }
      assertTrue(Instant.now().isBefore(deadline),
          "no completion record for request " + requestId + " within 30s");
      Thread.sleep(100);
    }
  }

  /** Every whole record in the control plane's audit segment files now. */
  private static List<JsonNode> records() throws IOException {
    List<JsonNode> out = new ArrayList<>();
    for (Path file : auditFiles()) {
      String text = Files.readString(file, StandardCharsets.UTF_8);
      int end = text.lastIndexOf('\n'); // a record being written has no newline yet
      if (end > 0) {
        text.substring(0, end).lines().forEach(l -> out.add(Stack.json(l)));
      }
    }
    return out;
  }

  private static List<Path> auditFiles() throws IOException {
    try (Stream<Path> files = Files.walk(stack.stack.configFile().getParent())) {
      List<Path> found = files.filter(p -> p.getFileName().toString().matches(
          "audit-\\d{20}\\.jsonl")).sorted().toList();
      assertFalse(found.isEmpty(), "no audit segment under the stack's data directory");
      return found;
    }
  }

  private static String sha256(byte[] bytes) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
  }
}
