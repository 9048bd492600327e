package io.perishable.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.Duration;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.perishable.controlplane.config.DurationText;
import io.perishable.proto.v1.IssueRequest;
import io.perishable.proto.v1.IssueResponse;
import io.perishable.proto.v1.TokenServiceGrpc;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code perishable issue}: mints a token. Prints only the token on stdout (so
 * {@code TOKEN=$(perishable issue ...)} works) and its details on stderr, or everything as JSON
 * with {@code --json}.
 */
@Command(name = "issue", mixinStandardHelpOptions = true,
    description = "Issue a token through the control plane's TokenService.")
final class IssueCommand implements Callable<Integer> {
  static final String SECRET_ENV = "PERISHABLE_ISSUER_SECRET";
  static final Path STACK_SECRET = Path.of(".data", "stack", "issuer-secret");

  @Spec
  CommandSpec spec;

  @Option(names = "--control-plane", defaultValue = "127.0.0.1:7400",
      description = "Control plane host:port (default: ${DEFAULT-VALUE}).")
  String controlPlane;

  @Option(names = "--agent", required = true, description = "Agent id the token is for.")
  String agent;

  @Option(names = "--scope", required = true, split = ",",
      description = "Scope name(s) from the catalog, e.g. llm:complete.")
  List<String> scopes = new ArrayList<>();

  @Option(names = "--model", split = ",", description = "Allowed model(s); none = any.")
  List<String> models = new ArrayList<>();

  @Option(names = "--max-tokens", defaultValue = "0",
      description = "Ceiling on max_tokens x n per request; 0 = none.")
  int maxTokens;

  @Option(names = "--ttl", description = "Lifetime, e.g. 10m (default: the server's).")
  String ttl;

  @Option(names = "--upstream", description = "Upstream name (default: the server's).")
  String upstream;

  @Option(names = "--label", description = "key=value label (repeatable).")
  Map<String, String> labels = new LinkedHashMap<>();

  @Option(names = "--issuer-secret-file", description = "File holding the issuer secret "
      + "(default: $" + SECRET_ENV + ", else .data/stack/issuer-secret).")
  Path secretFile;

  @Option(names = "--json", description = "Print the whole response as JSON on stdout.")
  boolean json;

  @Override
  public Integer call() throws Exception {
    IssueRequest.Builder request = IssueRequest.newBuilder()
        .setAgentId(agent)
        .addAllScopes(scopes)
        .addAllModels(models)
        .setMaxTokensPerRequest(maxTokens)
        .putAllLabels(labels);
    if (ttl != null) {
      java.time.Duration d;
      try {
        d = DurationText.parse(ttl);
      } catch (IllegalArgumentException e) {
        throw new CommandLine.ParameterException(spec.commandLine(), "--ttl: " + e.getMessage());
      }
      request.setTtl(Duration.newBuilder().setSeconds(d.getSeconds()).setNanos(d.getNano()));
    }
    if (upstream != null) {
      request.setUpstream(upstream);
    }
    String secret = issuerSecret();
    ManagedChannel channel = NettyChannelBuilder.forTarget(controlPlane).usePlaintext().build();
    try {
      Metadata headers = new Metadata();
      headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER),
          "Bearer " + secret);
      IssueResponse response = TokenServiceGrpc.newBlockingStub(channel)
          .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers))
          .withDeadlineAfter(10, TimeUnit.SECONDS)
          .issue(request.build());
      print(response);
      return ExitCodes.OK;
    } catch (StatusRuntimeException e) {
      spec.commandLine().getErr().println("perishable issue: " + e.getStatus().getCode() + ": "
          + e.getStatus().getDescription());
      return ExitCodes.SERVER_ERROR;
    } finally {
      channel.shutdownNow();
    }
  }

  private void print(IssueResponse r) throws IOException {
    Instant expires = Instant.ofEpochSecond(r.getExpiresAt().getSeconds(),
        r.getExpiresAt().getNanos());
    if (json) {
      ObjectMapper mapper = new ObjectMapper();
      ObjectNode out = mapper.createObjectNode()
          .put("token", r.getToken())
          .put("token_id", r.getTokenId())
          .put("agent_id", r.getAgentId())
          .put("key_id", r.getKeyId())
          .put("expires_at", expires.toString());
      ObjectNode grant = out.putObject("grant");
      r.getGrant().getScopesList().forEach(grant.putArray("scopes")::add);
      r.getGrant().getModelsList().forEach(grant.putArray("models")::add);
      grant.put("max_tokens_per_request", r.getGrant().getMaxTokensPerRequest());
      grant.put("upstream", r.getGrant().getUpstream());
      spec.commandLine().getOut().println(mapper.writeValueAsString(out));
      return;
    }
    spec.commandLine().getOut().println(r.getToken());
    spec.commandLine().getErr().println("token_id " + r.getTokenId() + ", agent "
        + r.getAgentId() + ", scopes " + r.getGrant().getScopesList() + ", models "
        + (r.getGrant().getModelsCount() == 0 ? "any" : r.getGrant().getModelsList())
        + ", upstream " + r.getGrant().getUpstream() + ", expires " + expires);
  }

  private String issuerSecret() throws IOException {
    if (secretFile != null) {
      return Files.readString(secretFile, StandardCharsets.UTF_8).strip();
    }
    String fromEnv = System.getenv(SECRET_ENV);
    if (fromEnv != null && !fromEnv.isBlank()) {
      return fromEnv.strip();
    }
    if (Files.exists(STACK_SECRET)) {
      return Files.readString(STACK_SECRET, StandardCharsets.UTF_8).strip();
    }
    throw new CommandLine.ParameterException(spec.commandLine(), "no issuer secret: pass "
        + "--issuer-secret-file or set " + SECRET_ENV);
  }
}
