package io.perishable.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.Timestamp;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.perishable.controlplane.config.DurationText;
import io.perishable.proto.v1.IssueTimeWindow;
import io.perishable.proto.v1.RevokeRequest;
import io.perishable.proto.v1.RevokeResponse;
import java.time.Instant;
import java.time.format.DateTimeParseException;
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
 * {@code perishable revoke}: revokes by token id (with its descendants), agent, scope or
 * issue-time window, and by default waits until every connected authz-service replica enforces
 * it. Exit 0 when every replica acked (or --no-wait), 1 when the server refused the call or a
 * replica did not ack in time (the revocation still stands; the message names the replicas).
 */
@Command(name = "revoke", mixinStandardHelpOptions = true,
    description = "Revoke tokens: one selector among --token-id, --agent, --scope, "
        + "--issued-from/--issued-until.")
final class RevokeCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Mixin
  ControlPlaneOptions controlPlane;

  @Option(names = "--token-id", description = "A token id; its descendants are revoked too.")
  String tokenId;

  @Option(names = "--agent", description = "Every token of this agent.")
  String agent;

  @Option(names = "--scope", description = "Every token granting this scope.")
  String scope;

  @Option(names = "--issued-from", description = "Window start (ISO-8601 instant, e.g. "
      + "2026-11-24T12:00:00Z): every token issued from then ...")
  String issuedFrom;

  @Option(names = "--issued-until", description = "... until then (exclusive; default now).")
  String issuedUntil;

  @Option(names = "--issued-before", description = "Only tokens issued before this instant "
      + "(default: now).")
  String issuedBefore;

  @Option(names = "--reason", defaultValue = "", description = "Why; shown to refused clients.")
  String reason;

  @Option(names = "--no-wait", description = "Return once the rule is recorded and sent, "
      + "without waiting for replicas to ack.")
  boolean noWait;

  @Option(names = "--ack-timeout", description = "How long to wait for replica acks "
      + "(default: the server's, 5s).")
  String ackTimeout;

  @Option(names = "--json", description = "Print the response as JSON on stdout.")
  boolean json;

  @Override
  public Integer call() throws Exception {
    CommandLine cli = spec.commandLine();
    if (issuedUntil != null && issuedFrom == null) {
      throw new CommandLine.ParameterException(cli, "--issued-until needs --issued-from");
    }
    RevokeRequest.Builder request = RevokeRequest.newBuilder()
        .setReason(reason)
        .setSkipReplicaAck(noWait);
    Optional.ofNullable(tokenId).ifPresent(request::setTokenId);
    Optional.ofNullable(agent).ifPresent(request::setAgentId);
    Optional.ofNullable(scope).ifPresent(request::setScope);
    if (issuedFrom != null) {
      IssueTimeWindow.Builder window = IssueTimeWindow.newBuilder()
          .setFrom(instant(cli, "--issued-from", issuedFrom));
      if (issuedUntil != null) {
        window.setUntil(instant(cli, "--issued-until", issuedUntil));
      }
      request.setIssuedWithin(window);
    }
    if (issuedBefore != null) {
      request.setIssuedBefore(instant(cli, "--issued-before", issuedBefore));
    }
    long deadlineSeconds = 15;
    if (ackTimeout != null) {
      java.time.Duration d;
      try {
        d = DurationText.parse(ackTimeout);
      } catch (IllegalArgumentException e) {
        throw new CommandLine.ParameterException(cli, "--ack-timeout: " + e.getMessage());
      }
      request.setReplicaAckTimeout(com.google.protobuf.Duration.newBuilder()
          .setSeconds(d.getSeconds()).setNanos(d.getNano()));
      deadlineSeconds = d.getSeconds() + 10;
    }
    String secret = controlPlane.issuerSecret(cli);
    ManagedChannel channel = controlPlane.channel();
    try {
      RevokeResponse response = ControlPlaneOptions.stub(channel, Optional.of(secret))
          .withDeadlineAfter(deadlineSeconds, TimeUnit.SECONDS)
          .revoke(request.build());
      return print(response);
    } catch (StatusRuntimeException e) {
      cli.getErr().println("perishable revoke: " + e.getStatus().getCode() + ": "
          + e.getStatus().getDescription());
      return ExitCodes.SERVER_ERROR;
    } finally {
      channel.shutdownNow();
    }
  }

  private int print(RevokeResponse r) throws Exception {
    boolean allAcked = r.getUnackedReplicasCount() == 0;
    if (json) {
      ObjectMapper mapper = new ObjectMapper();
      ObjectNode out = mapper.createObjectNode()
          .put("rule_id", r.getRuleId())
          .put("tokens_covered", Integer.toUnsignedLong(r.getTokensCovered()))
          .put("rule_expires_at", TokenJson.instant(r.getRuleExpiresAt()))
          .put("replica_ack_skipped", r.getReplicaAckSkipped());
      r.getAckedReplicasList().forEach(out.putArray("acked_replicas")::add);
      r.getUnackedReplicasList().forEach(out.putArray("unacked_replicas")::add);
      spec.commandLine().getOut().println(mapper.writeValueAsString(out));
    } else {
      spec.commandLine().getOut().println("revoked: rule " + r.getRuleId() + ", "
          + Integer.toUnsignedLong(r.getTokensCovered()) + " known token(s) covered, "
          + (r.getReplicaAckSkipped() ? "replica acks not awaited"
              : "acked by " + r.getAckedReplicasCount() + " replica(s) "
                  + r.getAckedReplicasList()));
    }
    if (!allAcked) {
      spec.commandLine().getErr().println("perishable revoke: replicas "
          + r.getUnackedReplicasList() + " did not ack in time; they will enforce the rule "
          + "once they (re)connect, but may accept the revoked tokens until then");
      return ExitCodes.SERVER_ERROR;
    }
    return ExitCodes.OK;
  }

  private static Timestamp instant(CommandLine cli, String option, String text) {
    Instant i;
    try {
      i = Instant.parse(text);
    } catch (DateTimeParseException e) {
      throw new CommandLine.ParameterException(cli, option + ": '" + text
          + "' is not an ISO-8601 instant such as 2026-11-24T12:00:00Z");
    }
    return Timestamp.newBuilder().setSeconds(i.getEpochSecond()).setNanos(i.getNano()).build();
  }
}
