package io.perishable.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.perishable.proto.v1.BudgetStatus;
import io.perishable.proto.v1.GetUsageRequest;
import io.perishable.proto.v1.IssueResponse;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Usage metering through real Envoy: the ext_proc filter streams each allowed request's response
 * to authz-service, which counts the usage the (fake) provider reported.
 */
class UsageMeteringIT {
  private static final String TOKENS = "perishable_authz_usage_tokens_total";
  private static final String RESPONSES = "perishable_authz_metered_responses_total";

  private static Stack stack;

  @BeforeAll
  static void start() {
    stack = new Stack();
  }

  @AfterAll
  static void stop() {
    stack.close();
  }

  private static String scrape() {
    return stack.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
        + stack.stack.authz().metricsPort() + "/metrics")).build()).body();
  }

  private static double metric(String text, String series) {
    Matcher m = Pattern.compile("(?m)^" + Pattern.quote(series) + " ([0-9.eE+-]+)$")
        .matcher(text);
    return m.find() ? Double.parseDouble(m.group(1)) : 0;
  }

  private static String tokens(String upstream, String kind) {
    return TOKENS + "{kind=\"" + kind + "\",upstream=\"" + upstream + "\"}";
  }

  /** Polls the metrics until {@code series} has grown by {@code delta}, or 30s pass. */
  private static void awaitGrowth(String before, String series, double delta)
      throws InterruptedException {
    Instant deadline = Instant.now().plusSeconds(30);
    String now = scrape();
    while (metric(now, series) - metric(before, series) < delta
        && Instant.now().isBefore(deadline)) {
      Thread.sleep(100);
      now = scrape();
    }
    assertEquals(delta, metric(now, series) - metric(before, series), series + " in\n" + now);
  }

  private static List<JsonNode> events(HttpRequest request) throws Exception {
    HttpResponse<Stream<String>> response =
        stack.http.send(request, HttpResponse.BodyHandlers.ofLines());
    assertEquals(200, response.statusCode());
    return response.body().filter(l -> l.startsWith("data: ") && !l.equals("data: [DONE]"))
        .map(l -> Stack.json(l.substring(6))).toList();
  }

  @Test
  void openAiStreamWithIncludeUsage_usageCountedFromTheLastChunk() throws Exception {
    String before = scrape();
    String token = stack.issue().getToken();
    List<JsonNode> chunks = events(stack.to("/v1/chat/completions")
        .header("authorization", "Bearer " + token)
        .header("content-type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"gpt-4o-mini\","
            + "\"max_tokens\":64,\"stream\":true,\"stream_options\":{\"include_usage\":true},"
            + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"))
        .build());
    JsonNode usage = chunks.get(chunks.size() - 1).get("usage");

    awaitGrowth(before, tokens("openai", "output"), usage.get("completion_tokens").asLong());
    awaitGrowth(before, tokens("openai", "input"), usage.get("prompt_tokens").asLong());
    assertTrue(usage.get("completion_tokens").asLong() > 0);
    String after = scrape();
    assertFalse(after.contains(token.substring(4, 20)), "no token material in metrics");
  }

  @Test
  void anthropicStream_inputFromMessageStart_outputFromMessageDelta() throws Exception {
    String before = scrape();
    String token = stack.issue(Stack.request().toBuilder().clearModels()
        .addModels("claude-sonnet-4-5").setUpstream("anthropic").build()).getToken();
    List<JsonNode> events = events(stack.to("/v1/messages")
        .header("x-api-key", token)
        .header("content-type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"claude-sonnet-4-5\","
            + "\"max_tokens\":100,\"stream\":true,"
            + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"))
        .build());
    long input = events.stream().filter(e -> e.path("type").asText().equals("message_start"))
        .findFirst().orElseThrow().at("/message/usage/input_tokens").asLong();
    long output = events.stream().filter(e -> e.path("type").asText().equals("message_delta"))
        .reduce((a, b) -> b).orElseThrow().at("/usage/output_tokens").asLong();

    awaitGrowth(before, tokens("anthropic", "input"), input);
    awaitGrowth(before, tokens("anthropic", "output"), output);
    assertTrue(input > 0 && output > 0);
  }

  @Test
  void jsonResponse_usageCounted_deniedRequestNotMetered() throws Exception {
    String before = scrape();
    String token = stack.issue().getToken();
    HttpResponse<String> ok = stack.postJson("/v1/chat/completions", token,
        Stack.chat("gpt-4o-mini", 16));
    assertEquals(200, ok.statusCode(), ok.body());
    HttpResponse<String> denied = stack.postJson("/v1/chat/completions", token,
        Stack.chat("gpt-4o", 16));
    assertEquals(403, denied.statusCode());
    long output = Stack.json(ok.body()).at("/usage/completion_tokens").asLong();

    awaitGrowth(before, tokens("openai", "output"), output);
    awaitGrowth(before, RESPONSES + "{outcome=\"usage\"}", 1);
    String after = scrape();
    assertEquals(0, metric(after, RESPONSES + "{outcome=\"cut\"}")
        - metric(before, RESPONSES + "{outcome=\"cut\"}"));
    assertEquals(0, metric(after, RESPONSES + "{outcome=\"no_usage\"}")
        - metric(before, RESPONSES + "{outcome=\"no_usage\"}"), "the 403 is never metered");
  }

  @Test
  void budgetedStream_reservationSettledWithTheUsageAtTheEndOfTheStream() throws Exception {
    IssueResponse token = stack.issue(Stack.request().toBuilder().setBudgetTokens(5_000)
        .build());
    List<JsonNode> chunks = events(stack.to("/v1/chat/completions")
        .header("authorization", "Bearer " + token.getToken())
        .header("content-type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"gpt-4o-mini\","
            + "\"max_tokens\":200,\"stream\":true,\"stream_options\":{\"include_usage\":true},"
            + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"))
        .build());
    JsonNode usage = chunks.get(chunks.size() - 1).get("usage");
    long total = usage.get("prompt_tokens").asLong() + usage.get("completion_tokens").asLong();

    // The replica returns the idle token's lease; then the settled usage is spent for good.
    GetUsageRequest query = GetUsageRequest.newBuilder().setTokenId(token.getTokenId()).build();
    Instant deadline = Instant.now().plusSeconds(60);
    BudgetStatus status = stack.budgets().getUsage(query);
    while (status.getLeased() > 0 && Instant.now().isBefore(deadline)) {
      Thread.sleep(200);
      status = stack.budgets().getUsage(query);
    }
    assertEquals(0, status.getLeased(), status.toString());
    assertEquals(total, status.getSpent(), "the stream's reported usage, not its worst case");
  }

  @Test
  void budgetedStreamCutByTheUpstream_settledAtItsWorstCase() throws Exception {
    String before = scrape();
    IssueResponse token = stack.issue(Stack.request().toBuilder().setBudgetTokens(5_000)
        .build());
    String body = "{\"model\":\"gpt-4o-mini\",\"max_tokens\":200,\"stream\":true,"
        + "\"stream_options\":{\"include_usage\":true},"
        + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    HttpRequest request = stack.to("/v1/chat/completions")
        .header("authorization", "Bearer " + token.getToken())
        .header("content-type", "application/json")
        .header("x-fake-llm-cut-after-frames", "2")
        .POST(HttpRequest.BodyPublishers.ofString(body))
        .build();
    try {
      stack.http.send(request, HttpResponse.BodyHandlers.ofString());
    } catch (IOException expected) {
      // The upstream dropped the stream mid-way; Envoy resets it toward the client.
    }

    GetUsageRequest query = GetUsageRequest.newBuilder().setTokenId(token.getTokenId()).build();
    Instant deadline = Instant.now().plusSeconds(60);
    BudgetStatus status = stack.budgets().getUsage(query);
    while ((status.getLeased() > 0 || status.getSpent() == 0)
        && Instant.now().isBefore(deadline)) {
      Thread.sleep(200);
      status = stack.budgets().getUsage(query);
    }
    long worstCase = body.getBytes(StandardCharsets.UTF_8).length + 200;
    assertEquals(worstCase, status.getSpent(), "a cut stream's usage is unknown: worst case "
        + status);
    awaitGrowth(before, RESPONSES + "{outcome=\"cut\"}", 1);
  }
}
