package io.perishable.cli;

import io.perishable.authz.AuthzServer;
import io.perishable.authz.config.AuthzConfig;
import io.perishable.authz.decision.DecisionLog;
import io.perishable.cli.config.ConfigFile;
import java.nio.file.Path;
import java.time.Clock;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code perishable authz}: runs authz-service until stopped. */
@Command(name = "authz", mixinStandardHelpOptions = true,
    description = "Run the ext_authz service Envoy calls, until SIGTERM/Ctrl-C.")
final class AuthzCommand implements Callable<Integer> {
  @Option(names = {"-c", "--config"}, required = true, description = "perishable.yaml")
  Path config;

  @Option(names = "--port", description = "Override authz.port.")
  Integer port;

  @Option(names = "--control-plane", description = "Override authz.control_plane (host:port).")
  String controlPlane;

  @Option(names = "--replica-id", description = "Override authz.replica_id.")
  String replicaId;

  @Override
  public Integer call() throws InterruptedException {
    AuthzConfig c = ConfigFile.load(config).authz();
    c = new AuthzConfig(c.host(), port != null ? port : c.port(),
        controlPlane != null ? controlPlane : c.controlPlane(),
        replicaId != null ? replicaId : c.replicaId(), c.clockSkew(), c.maxStaleness(),
        c.maxBodyBytes(), c.maxJsonDepth(), c.tokenCacheSize(), c.scopes(), c.upstreams())
        .validate();
    AuthzServer server =
        AuthzServer.start(c, Clock.systemUTC(), System::getenv, new DecisionLog());
    Runtime.getRuntime().addShutdownHook(new Thread(server::close, "authz-shutdown"));
    server.awaitTermination();
    return ExitCodes.OK;
  }
}
