package io.perishable.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.perishable.proto.v1.GetLineageRequest;
import io.perishable.proto.v1.GetLineageResponse;
import io.perishable.proto.v1.TokenInfo;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code perishable lineage TOKEN_ID}: the token's delegation chain as an indented tree, root
 * first, the token itself marked with {@code *}, its descendants below it.
 */
@Command(name = "lineage", mixinStandardHelpOptions = true,
    description = "Show a token's ancestors and descendants.")
final class LineageCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Mixin
  ControlPlaneOptions controlPlane;

  @Parameters(index = "0", paramLabel = "TOKEN_ID", description = "The token's id (not the token).")
  String tokenId;

  @Option(names = "--json", description = "Print the lineage as JSON on stdout.")
  boolean json;

  @Override
  public Integer call() throws Exception {
    CommandLine cli = spec.commandLine();
    String secret = controlPlane.issuerSecret(cli);
    ManagedChannel channel = controlPlane.channel();
    try {
      GetLineageResponse r = ControlPlaneOptions.stub(channel, Optional.of(secret))
          .withDeadlineAfter(10, TimeUnit.SECONDS)
          .getLineage(GetLineageRequest.newBuilder().setTokenId(tokenId).build());
      if (json) {
        ObjectMapper mapper = new ObjectMapper();
        ObjectNode out = mapper.createObjectNode();
        TokenJson.token(out.putObject("token"), r.getToken());
        var ancestors = out.putArray("ancestors");
        r.getAncestorsList().forEach(a -> TokenJson.token(ancestors.addObject(), a));
        var descendants = out.putArray("descendants");
        r.getDescendantsList().forEach(d -> TokenJson.token(descendants.addObject(), d));
        cli.getOut().println(mapper.writeValueAsString(out));
      } else {
        for (int i = 0; i < r.getAncestorsCount(); i++) {
          cli.getOut().println("  ".repeat(i) + "  " + TokenJson.line(r.getAncestors(i)));
        }
        int base = r.getToken().getAncestorIdsCount();
        cli.getOut().println("  ".repeat(base) + "* " + TokenJson.line(r.getToken()));
        for (TokenInfo d : r.getDescendantsList()) {
          cli.getOut().println("  ".repeat(d.getAncestorIdsCount()) + "  " + TokenJson.line(d));
        }
      }
      return ExitCodes.OK;
    } catch (StatusRuntimeException e) {
      cli.getErr().println("perishable lineage: " + e.getStatus().getCode() + ": "
          + e.getStatus().getDescription());
      return ExitCodes.SERVER_ERROR;
    } finally {
      channel.shutdownNow();
    }
  }
}
