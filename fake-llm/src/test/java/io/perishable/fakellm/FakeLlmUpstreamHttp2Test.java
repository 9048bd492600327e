package io.perishable.fakellm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.perishable.fakellm.PriorKnowledgeH2Client.H2Response;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** h2c with prior knowledge, the protocol Envoy uses towards an HTTP/2 upstream cluster. */
class FakeLlmUpstreamHttp2Test {

  private static final String OPENAI_KEY = "sk-real-openai";
  private static final String CHAT = "{\"model\":\"gpt-4o\",\"messages\":[]}";
  private static final ObjectMapper JSON = new ObjectMapper();

  private FakeLlmUpstream upstream;
  private PriorKnowledgeH2Client client;

  @BeforeEach
  void start() {
    upstream = FakeLlmUpstream.start(0, OPENAI_KEY, null);
    client = new PriorKnowledgeH2Client(upstream.port());
  }

  @AfterEach
  void stop() {
    client.close();
    upstream.close();
  }

  @Test
  void chatCompletion_overH2c_answeredAndRecordedWithPseudoHeaders() throws Exception {
    H2Response response =
        client.post("/v1/chat/completions", CHAT, "authorization", "Bearer " + OPENAI_KEY);

    assertEquals(200, response.status());
    assertEquals("1", response.headers().get("x-fake-llm-request-id"));
    assertEquals(
        "Hello from fake-llm.",
        JSON.readTree(response.body()).at("/choices/0/message/content").textValue());
    RecordedRequest seen = upstream.lastRequest();
    assertEquals("POST", seen.method());
    assertEquals("/v1/chat/completions", seen.path());
    assertEquals(CHAT, seen.bodyText());
    assertEquals(Optional.of("Bearer " + OPENAI_KEY), seen.header("authorization"));
    assertEquals(Optional.of("127.0.0.1"), seen.header(":authority"));
    assertTrue(seen.headers().contains(Map.entry(":method", "POST")), seen.toString());
  }

  @Test
  void chatCompletion_overH2c_wrongKey_401() throws Exception {
    H2Response response =
        client.post("/v1/chat/completions", CHAT, "authorization", "Bearer prs_token");

    assertEquals(401, response.status());
    assertTrue(upstream.lastRequest().contains("prs_token"));
  }

  @Test
  void chatCompletion_overH2c_streamsSseEndingInDone() throws Exception {
    String request = "{\"model\":\"gpt-4o\",\"stream\":true,\"messages\":[]}";

    H2Response response =
        client.post("/v1/chat/completions", request, "authorization", "Bearer " + OPENAI_KEY);

    assertEquals("text/event-stream", response.headers().get("content-type"));
    List<String> lines = response.body().lines().filter(line -> !line.isEmpty()).toList();
    assertEquals(8, lines.size());
    assertEquals("data: [DONE]", lines.get(lines.size() - 1));
  }
}
