package io.perishable.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.perishable.proto.v1.ListTokensRequest;
import io.perishable.proto.v1.ListTokensResponse;
import io.perishable.proto.v1.TokenInfo;
import io.perishable.proto.v1.TokenServiceGrpc;
import io.perishable.proto.v1.TokenState;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code perishable list}: the control plane's indexed tokens, oldest first, every page. */
@Command(name = "list", mixinStandardHelpOptions = true,
    description = "List tokens the control plane knows (minted since it started).")
final class ListCommand implements Callable<Integer> {
  /** The states --state accepts. */
  enum State {
    live(TokenState.TOKEN_STATE_LIVE),
    revoked(TokenState.TOKEN_STATE_REVOKED),
    expired(TokenState.TOKEN_STATE_EXPIRED);

    final TokenState proto;

    State(TokenState proto) {
      this.proto = proto;
    }
  }

  @Spec
  CommandSpec spec;

  @Mixin
  ControlPlaneOptions controlPlane;

  @Option(names = "--agent", description = "Only this agent's tokens.")
  String agent;

  @Option(names = "--state", description = "Only tokens in this state: ${COMPLETION-CANDIDATES}.")
  State state;

  @Option(names = "--json", description = "Print a JSON array on stdout.")
  boolean json;

  @Override
  public Integer call() throws Exception {
    CommandLine cli = spec.commandLine();
    String secret = controlPlane.issuerSecret(cli);
    ManagedChannel channel = controlPlane.channel();
    ObjectMapper mapper = new ObjectMapper();
    ArrayNode all = mapper.createArrayNode();
    try {
      TokenServiceGrpc.TokenServiceBlockingStub stub =
          ControlPlaneOptions.stub(channel, Optional.of(secret));
      String pageToken = "";
      do {
        ListTokensRequest.Builder request = ListTokensRequest.newBuilder()
            .setPageSize(500).setPageToken(pageToken);
        Optional.ofNullable(agent).ifPresent(request::setAgentId);
        Optional.ofNullable(state).ifPresent(s -> request.setState(s.proto));
        ListTokensResponse page = stub.withDeadlineAfter(10, TimeUnit.SECONDS)
            .listTokens(request.build());
        for (TokenInfo t : page.getTokensList()) {
          if (json) {
            TokenJson.token(all.addObject(), t);
          } else {
            cli.getOut().println(TokenJson.line(t));
          }
        }
        pageToken = page.getNextPageToken();
      } while (!pageToken.isEmpty());
      if (json) {
        cli.getOut().println(mapper.writeValueAsString(all));
      }
      return ExitCodes.OK;
    } catch (StatusRuntimeException e) {
      cli.getErr().println("perishable list: " + e.getStatus().getCode() + ": "
          + e.getStatus().getDescription());
      return ExitCodes.SERVER_ERROR;
    } finally {
      channel.shutdownNow();
    }
  }
}
