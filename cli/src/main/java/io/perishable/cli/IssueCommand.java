package io.perishable.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.Duration;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.perishable.controlplane.config.DurationText;
import io.perishable.proto.v1.IssueRequest;
import io.perishable.proto.v1.IssueResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code perishable issue}: mints a token. Prints only the token on stdout (so
 * {@code TOKEN=$(perishable issue ...)} works) and its details on stderr, or everything as JSON
 * with {@code --json}.
 *
 * <p>With {@code --parent-token-file} it mints a child of that token (delegation): no issuer
 * secret is needed (one is sent only when named explicitly), omitted scopes, models, max tokens
 * and upstream are the parent's, and asking for more than the parent holds fails unless
 * {@code --narrow} asks for the intersection.
 *
 * <p>With {@code --identity-token-file} the caller authenticates with a workload-identity JWT
 * instead of an issuer secret; the control plane holds it to that principal's issuer grant.
 */
@Command(name = "issue", mixinStandardHelpOptions = true,
    description = "Issue a token through the control plane's TokenService.")
final class IssueCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Mixin
  ControlPlaneOptions controlPlane;

  @Option(names = "--agent", required = true, description = "Agent id the token is for.")
  String agent;

  @Option(names = "--scope", split = ",", description = "Scope name(s) from the catalog, e.g. "
      + "llm:complete. Required unless --parent-token-file (then: the parent's).")
  List<String> scopes = new ArrayList<>();

  @Option(names = "--model", split = ",", description = "Allowed model(s); none = any (with a "
      + "parent: the parent's).")
  List<String> models = new ArrayList<>();

  @Option(names = "--max-tokens", defaultValue = "0",
      description = "Ceiling on max_tokens x n per request; 0 = none (with a parent: the "
          + "parent's).")
  int maxTokens;

  @Option(names = "--budget", defaultValue = "0",
      description = "LLM tokens (prompt + completion) the token and its children may spend "
          + "over its life; 0 = none (with a budgeted parent: all the parent has left).")
  long budget;

  @Option(names = "--ttl", description = "Lifetime, e.g. 10m (default: the server's; with a "
      + "parent, at most the parent's remaining lifetime).")
  String ttl;

  @Option(names = "--upstream", description = "Upstream name (default: the server's, or the "
      + "parent's).")
  String upstream;

  @Option(names = "--label", description = "key=value label (repeatable).")
  Map<String, String> labels = new LinkedHashMap<>();

  @Option(names = "--parent-token-file", description = "Mint a child of the token in this "
      + "file (delegation; no issuer secret needed).")
  Path parentTokenFile;

  @Option(names = "--identity-token-file", description = "Authenticate with the workload "
      + "identity token (JWT) in this file, e.g. a projected Kubernetes service-account token, "
      + "instead of an issuer secret.")
  Path identityTokenFile;

  @Option(names = "--narrow", description = "With --parent-token-file: receive the "
      + "intersection with the parent's grant instead of an error when asking for more.")
  boolean narrow;

  @Option(names = "--json", description = "Print the whole response as JSON on stdout.")
  boolean json;

  @Override
  public Integer call() throws Exception {
    CommandLine cli = spec.commandLine();
    if (parentTokenFile == null && scopes.isEmpty()) {
      throw new CommandLine.ParameterException(cli, "--scope is required (unless "
          + "--parent-token-file mints a child with its parent's scopes)");
    }
    if (budget < 0) {
      throw new CommandLine.ParameterException(cli, "--budget must not be negative");
    }
    if (narrow && parentTokenFile == null) {
      throw new CommandLine.ParameterException(cli, "--narrow needs --parent-token-file");
    }
    IssueRequest.Builder request = IssueRequest.newBuilder()
        .setAgentId(agent)
        .addAllScopes(scopes)
        .addAllModels(models)
        .setMaxTokensPerRequest(maxTokens)
        .setBudgetTokens(budget)
        .putAllLabels(labels)
        .setNarrowToParent(narrow);
    if (ttl != null) {
      java.time.Duration d;
      try {
        d = DurationText.parse(ttl);
      } catch (IllegalArgumentException e) {
        throw new CommandLine.ParameterException(cli, "--ttl: " + e.getMessage());
      }
      request.setTtl(Duration.newBuilder().setSeconds(d.getSeconds()).setNanos(d.getNano()));
    }
    if (upstream != null) {
      request.setUpstream(upstream);
    }
    Optional<String> secret;
    if (parentTokenFile != null) {
      request.setParentToken(Files.readString(parentTokenFile, StandardCharsets.UTF_8).strip());
    }
    if (identityTokenFile != null) {
      if (controlPlane.secretFile != null) {
        throw new CommandLine.ParameterException(cli,
            "--identity-token-file and --issuer-secret-file exclude each other");
      }
      // Sent where the issuer secret goes: authorization: Bearer <jwt>.
      secret = Optional.of(Files.readString(identityTokenFile, StandardCharsets.UTF_8).strip());
    } else if (parentTokenFile != null) {
      secret = controlPlane.explicitIssuerSecret();
    } else {
      secret = Optional.of(controlPlane.issuerSecret(cli));
    }
    ManagedChannel channel = controlPlane.channel();
    try {
      IssueResponse response = ControlPlaneOptions.stub(channel, secret)
          .withDeadlineAfter(10, TimeUnit.SECONDS)
          .issue(request.build());
      print(response);
      return ExitCodes.OK;
    } catch (StatusRuntimeException e) {
      cli.getErr().println("perishable issue: " + e.getStatus().getCode() + ": "
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
      r.getAncestorIdsList().forEach(out.putArray("ancestor_ids")::add);
      TokenJson.grant(out.putObject("grant"), r.getGrant());
      spec.commandLine().getOut().println(mapper.writeValueAsString(out));
      return;
    }
    spec.commandLine().getOut().println(r.getToken());
    spec.commandLine().getErr().println("token_id " + r.getTokenId() + ", agent "
        + r.getAgentId() + ", scopes " + r.getGrant().getScopesList() + ", models "
        + (r.getGrant().getModelsCount() == 0 ? "any" : r.getGrant().getModelsList())
        + ", upstream " + r.getGrant().getUpstream()
        + (r.getGrant().getBudgetTokens() == 0 ? ""
            : ", budget " + r.getGrant().getBudgetTokens())
        + ", expires " + expires
        + (r.getAncestorIdsCount() == 0 ? "" : ", ancestors " + r.getAncestorIdsList()));
  }
}
