package io.perishable.examples;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.Duration;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.perishable.proto.v1.IssueRequest;
import io.perishable.proto.v1.IssueResponse;
import io.perishable.proto.v1.TokenServiceGrpc;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * An agent that never holds a provider key, in Java: it mints a short-lived token with the
 * {@code proto} module's stubs, calls the LLM through Envoy with the token as its API key,
 * mints a narrower child token for a sub-agent (the parent token is the only credential), and
 * refreshes its token before it expires.
 *
 * <pre>
 * java -cp examples/java-agent/target/classes:... io.perishable.examples.JavaAgent \
 *     127.0.0.1:7400 http://127.0.0.1:10000 .data/stack/issuer-secret
 * </pre>
 */
public final class JavaAgent {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** What the agent saw. */
  public record Result(String answer, String subAnswer, int childOverLimitStatus,
      String childOverLimitCode, String greedyChild, boolean refreshed, String afterRefresh) {}

  /** Hands out a token, minting a new one when less than {@code refreshBefore} is left. */
  public static final class TokenSource {
    private final Supplier<IssueResponse> issue;
    private final java.time.Duration refreshBefore;
    private final Clock clock;
    private IssueResponse current;

    public TokenSource(Supplier<IssueResponse> issue, java.time.Duration refreshBefore,
        Clock clock) {
      this.issue = issue;
      this.refreshBefore = refreshBefore;
      this.clock = clock;
    }

    public synchronized IssueResponse response() {
      if (current == null || !clock.instant().isBefore(Instant.ofEpochSecond(
          current.getExpiresAt().getSeconds()).minus(refreshBefore))) {
        current = issue.get();
      }
      return current;
    }
  }

  private JavaAgent() {}

  public static void main(String[] args) throws Exception {
    String secret = Files.readString(Path.of(args[2])).strip();
    Result result = run(args[0], args[1], secret, Clock.systemUTC());
    System.out.println(JSON.writeValueAsString(result));
  }

  /** Runs the whole flow against a control plane and an Envoy. */
  public static Result run(String controlPlane, String envoy, String issuerSecret,
      Clock clock) throws IOException, InterruptedException {
    ManagedChannel channel = NettyChannelBuilder.forTarget(controlPlane).usePlaintext().build();
    try {
      TokenServiceGrpc.TokenServiceBlockingStub tokens = TokenServiceGrpc.newBlockingStub(channel);
      Metadata issuer = new Metadata();
      issuer.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER),
          "Bearer " + issuerSecret);
      TokenServiceGrpc.TokenServiceBlockingStub asIssuer =
          tokens.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(issuer));
      MovableClock agentClock = new MovableClock(clock);
      TokenSource source = new TokenSource(() -> asIssuer.withDeadlineAfter(10, TimeUnit.SECONDS)
          .issue(IssueRequest.newBuilder().setAgentId("java-agent").addScopes("llm:complete")
              .addModels("gpt-4o-mini").setMaxTokensPerRequest(256)
              .setTtl(Duration.newBuilder().setSeconds(60)).build()),
          java.time.Duration.ofSeconds(20), agentClock);
      HttpClient http = HttpClient.newHttpClient();

      String answer = content(chat(http, envoy, source.response().getToken(), 32));

      IssueResponse child = tokens.withDeadlineAfter(10, TimeUnit.SECONDS).issue(
          IssueRequest.newBuilder().setAgentId("java-agent/summarizer").addScopes("llm:complete")
              .addModels("gpt-4o-mini").setMaxTokensPerRequest(16)
              .setTtl(Duration.newBuilder().setSeconds(30))
              .setParentToken(source.response().getToken()).build());
      String subAnswer = content(chat(http, envoy, child.getToken(), 16));
      HttpResponse<String> overLimit = chat(http, envoy, child.getToken(), 200);

      String greedy;
      try {
        tokens.withDeadlineAfter(10, TimeUnit.SECONDS).issue(IssueRequest.newBuilder()
            .setAgentId("java-agent/greedy").addScopes("llm:complete").addModels("gpt-4o")
            .setParentToken(source.response().getToken()).build());
        greedy = "allowed";
      } catch (StatusRuntimeException e) {
        greedy = e.getStatus().getCode().name();
      }

      String firstId = source.response().getTokenId();
      agentClock.advance(java.time.Duration.ofSeconds(45));
      boolean refreshed = !source.response().getTokenId().equals(firstId);
      String afterRefresh = content(chat(http, envoy, source.response().getToken(), 8));

      return new Result(answer, subAnswer, overLimit.statusCode(),
          JSON.readTree(overLimit.body()).at("/error/code").asText(), greedy, refreshed,
          afterRefresh);
    } finally {
      channel.shutdownNow();
    }
  }

  private static HttpResponse<String> chat(HttpClient http, String envoy, String token,
      int maxTokens) throws IOException, InterruptedException {
    return http.send(HttpRequest.newBuilder(URI.create(envoy + "/v1/chat/completions"))
        .header("authorization", "Bearer " + token)
        .header("content-type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"gpt-4o-mini\",\"max_tokens\":"
            + maxTokens + ",\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}"))
        .build(), HttpResponse.BodyHandlers.ofString());
  }

  private static String content(HttpResponse<String> response) throws IOException {
    if (response.statusCode() != 200) {
      throw new IOException("LLM call failed: " + response.statusCode() + " " + response.body());
    }
    JsonNode json = JSON.readTree(response.body());
    return json.at("/choices/0/message/content").asText();
  }

  /** The system clock plus an offset the example moves, to show a refresh without waiting. */
  private static final class MovableClock extends Clock {
    private final Clock base;
    private java.time.Duration offset = java.time.Duration.ZERO;

    MovableClock(Clock base) {
      this.base = base;
    }

    void advance(java.time.Duration d) {
      offset = offset.plus(d);
    }

    @Override
    public Instant instant() {
      return base.instant().plus(offset);
    }

    @Override
    public java.time.ZoneId getZone() {
      return base.getZone();
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      return this;
    }
  }
}
