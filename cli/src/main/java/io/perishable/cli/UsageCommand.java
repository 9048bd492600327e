package io.perishable.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.perishable.proto.v1.BudgetStatus;
import io.perishable.proto.v1.GetUsageRequest;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * {@code perishable usage TOKEN_ID}: where a token's budget stands (BudgetService.GetUsage):
 * the budget, what is spent for good, what replicas hold in leases, what is left. {@code
 * perishable usage --agent NAME}: the same for an agent's per-period budget, in the current
 * window.
 */
@Command(name = "usage", mixinStandardHelpOptions = true,
    description = "Show a token's budget (or an agent's, for the current period): spent, leased "
        + "to replicas, available.")
final class UsageCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Mixin
  ControlPlaneOptions controlPlane;

  @Parameters(index = "0", arity = "0..1", paramLabel = "TOKEN_ID",
      description = "The token's id (not the token).")
  String tokenId;

  @Option(names = "--agent", paramLabel = "NAME",
      description = "An agent with a per-period budget (control_plane.budget.agents) instead of "
          + "a token: its current period window.")
  String agent;

  @Option(names = "--json", description = "Print the figures as JSON on stdout.")
  boolean json;

  @Override
  public Integer call() throws Exception {
    CommandLine cli = spec.commandLine();
    if ((tokenId == null) == (agent == null)) {
      cli.getErr().println("perishable usage: give a TOKEN_ID or --agent NAME (one of them)");
      return ExitCodes.USAGE;
    }
    String secret = controlPlane.issuerSecret(cli);
    ManagedChannel channel = controlPlane.channel();
    try {
      BudgetStatus s = ControlPlaneOptions.budgets(channel, secret)
          .withDeadlineAfter(10, TimeUnit.SECONDS)
          .getUsage(agent != null ? GetUsageRequest.newBuilder().setAgentId(agent).build()
              : GetUsageRequest.newBuilder().setTokenId(tokenId).build());
      if (agent != null) {
        printAgent(cli, s);
      } else if (json) {
        ObjectMapper mapper = new ObjectMapper();
        cli.getOut().println(mapper.writeValueAsString(mapper.createObjectNode()
            .put("token_id", s.getTokenId()).put("budget", s.getBudget())
            .put("spent", s.getSpent()).put("leased", s.getLeased())
            .put("available", s.getAvailable())));
      } else {
        cli.getOut().println("token_id " + s.getTokenId() + ": budget " + s.getBudget()
            + ", spent " + s.getSpent() + ", leased to replicas " + s.getLeased()
            + ", available " + s.getAvailable());
      }
      return ExitCodes.OK;
    } catch (StatusRuntimeException e) {
      cli.getErr().println("perishable usage: " + e.getStatus().getCode() + ": "
          + e.getStatus().getDescription());
      return ExitCodes.SERVER_ERROR;
    } finally {
      channel.shutdownNow();
    }
  }

  private void printAgent(CommandLine cli, BudgetStatus s) throws Exception {
    Instant start = Instant.ofEpochSecond(s.getPeriodStart().getSeconds());
    Duration period = Duration.ofSeconds(s.getPeriod().getSeconds());
    if (json) {
      ObjectMapper mapper = new ObjectMapper();
      cli.getOut().println(mapper.writeValueAsString(mapper.createObjectNode()
          .put("agent_id", s.getAgentId()).put("period_start", start.toString())
          .put("period_end", start.plus(period).toString()).put("budget", s.getBudget())
          .put("spent", s.getSpent()).put("leased", s.getLeased())
          .put("available", s.getAvailable())));
    } else {
      cli.getOut().println("agent " + s.getAgentId() + ", period " + start + " to "
          + start.plus(period) + ": budget " + s.getBudget() + ", spent " + s.getSpent()
          + ", leased to replicas " + s.getLeased() + ", available " + s.getAvailable());
    }
  }
}
