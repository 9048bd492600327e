package io.perishable.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.Duration;
import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.TlsChannelCredentials;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.AbstractStub;
import io.grpc.stub.MetadataUtils;
import io.perishable.authz.decision.DecisionLog;
import io.perishable.authz.testing.OffsetClock;
import io.perishable.cli.stack.EnvoyBinary;
import io.perishable.cli.stack.LocalStack;
import io.perishable.proto.v1.BudgetServiceGrpc;
import io.perishable.proto.v1.IssueRequest;
import io.perishable.proto.v1.IssueResponse;
import io.perishable.proto.v1.TokenServiceGrpc;
import io.perishable.tls.TlsFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * One running {@link LocalStack} for a test class, with authz-service on a clock the test
 * moves, plus the clients tests need: an issuer for tokens and an HTTP client for Envoy.
 */
final class Stack implements AutoCloseable {
  static final ObjectMapper JSON = new ObjectMapper();

  final OffsetClock authzClock = new OffsetClock();
  final LocalStack stack;
  final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
  private final ManagedChannel controlPlane;

  Stack() {
    this(options -> options);
  }

  /** A stack whose options a test adjusts (e.g. mTLS between Envoy and authz-service). */
  Stack(java.util.function.UnaryOperator<LocalStack.Options> adjust) {
    Path data;
    try {
      // Under target/, so the secret scan after the suite reads Envoy's logs too.
      Path root = Path.of("target", "it-data");
      Files.createDirectories(root);
      data = Files.createTempDirectory(root, "stack-");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    LocalStack.Options options = adjust.apply(LocalStack.Options
        .ephemeral(EnvoyBinary.repoRoot(), data, new DecisionLog())
        .withAuthzClock(authzClock));
    stack = LocalStack.start(options);
    // With mutual TLS on the control plane, the test calls it as an authz replica would.
    controlPlane = options.authzMtls().flatMap(LocalStack.Mtls::controlPlane)
        .map(tls -> NettyChannelBuilder.forTarget(stack.controlPlaneTarget(),
            clientCredentials(tls.authzClient())))
        .orElseGet(() -> NettyChannelBuilder.forTarget(stack.controlPlaneTarget())
            .usePlaintext())
        .build();
  }

  /** Presents {@code files}' certificate and trusts its CA bundle. */
  static ChannelCredentials clientCredentials(TlsFiles files) {
    try {
      return TlsChannelCredentials.newBuilder()
          .keyManager(files.certificateChain().toFile(), files.privateKey().toFile())
          .trustManager(files.trustedCa().toFile())
          .build();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** grpc.health.v1 overall status of the server at {@code target}, over {@code credentials}. */
  static ServingStatus health(String target, ChannelCredentials credentials) {
    ManagedChannel channel = Grpc.newChannelBuilder(target, credentials).build();
    try {
      return HealthGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS)
          .check(HealthCheckRequest.getDefaultInstance()).getStatus();
    } finally {
      channel.shutdownNow();
    }
  }

  /** TokenService with the stack's issuer secret ({@code null}: no credentials at all). */
  TokenServiceGrpc.TokenServiceBlockingStub tokens(String issuerSecret) {
    TokenServiceGrpc.TokenServiceBlockingStub stub = TokenServiceGrpc
        .newBlockingStub(controlPlane).withDeadlineAfter(10, TimeUnit.SECONDS);
    return issuerSecret == null ? stub : withIssuerSecret(stub, issuerSecret);
  }

  /** {@code stub} sending {@code issuerSecret} as its bearer credential on every call. */
  static <S extends AbstractStub<S>> S withIssuerSecret(S stub, String issuerSecret) {
    Metadata headers = new Metadata();
    headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER),
        "Bearer " + issuerSecret);
    return stub.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));
  }

  /** BudgetService with the stack's issuer secret (GetUsage needs one). */
  BudgetServiceGrpc.BudgetServiceBlockingStub budgets() {
    return withIssuerSecret(BudgetServiceGrpc.newBlockingStub(controlPlane)
        .withDeadlineAfter(10, TimeUnit.SECONDS), stack.issuerSecret());
  }

  /** A token for agent-it: llm:complete + llm:embed, gpt-4o-mini, 256 tokens, 10 minutes. */
  IssueResponse issue() {
    return issue(request());
  }

  IssueResponse issue(IssueRequest request) {
    return tokens(stack.issuerSecret()).issue(request);
  }

  static IssueRequest request() {
    return IssueRequest.newBuilder()
        .setAgentId("agent-it")
        .addScopes("llm:complete")
        .addScopes("llm:embed")
        .addModels("gpt-4o-mini")
        .setMaxTokensPerRequest(256)
        .setTtl(Duration.newBuilder().setSeconds(600))
        .build();
  }

  /** A request to Envoy's listener. */
  HttpRequest.Builder to(String path) {
    return HttpRequest.newBuilder(URI.create(stack.envoyUrl() + path))
        .timeout(java.time.Duration.ofSeconds(30));
  }

  HttpResponse<String> send(HttpRequest request) {
    try {
      return http.send(request, HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** POST a JSON body with {@code authorization: Bearer token}. */
  HttpResponse<String> postJson(String path, String token, String json) {
    HttpRequest.Builder request = to(path).header("content-type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(json));
    if (token != null) {
      request.header("authorization", "Bearer " + token);
    }
    return send(request.build());
  }

  static String chat(String model, int maxTokens) {
    return "{\"model\":\"" + model + "\",\"max_tokens\":" + maxTokens
        + ",\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}";
  }

  static JsonNode json(String body) {
    try {
      return JSON.readTree(body);
    } catch (IOException e) {
      throw new AssertionError("not JSON: " + body, e);
    }
  }

  @Override
  public void close() {
    controlPlane.shutdownNow();
    stack.close();
  }
}
