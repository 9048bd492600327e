package io.perishable.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.perishable.proto.v1.BudgetStatus;
import io.perishable.proto.v1.GetUsageRequest;
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
 * the budget, what is spent for good, what replicas hold in leases, what is left.
 */
@Command(name = "usage", mixinStandardHelpOptions = true,
    description = "Show a token's budget: spent, leased to replicas, available.")
final class UsageCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Mixin
  ControlPlaneOptions controlPlane;

  @Parameters(index = "0", paramLabel = "TOKEN_ID", description = "The token's id (not the token).")
  String tokenId;

  @Option(names = "--json", description = "Print the figures as JSON on stdout.")
  boolean json;

  @Override
  public Integer call() throws Exception {
    CommandLine cli = spec.commandLine();
    String secret = controlPlane.issuerSecret(cli);
    ManagedChannel channel = controlPlane.channel();
    try {
      BudgetStatus s = ControlPlaneOptions.budgets(channel, secret)
          .withDeadlineAfter(10, TimeUnit.SECONDS)
          .getUsage(GetUsageRequest.newBuilder().setTokenId(tokenId).build());
      if (json) {
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
}
