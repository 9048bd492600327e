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

  @Option(names = "--host", description = "Override authz.host (where Check listens; "
      + "/metrics stays on authz.metrics_host when that is set).")
  String host;

  @Option(names = "--port", description = "Override authz.port.")
  Integer port;

  @Option(names = "--control-plane", description = "Override authz.control_plane (host:port).")
  String controlPlane;

  @Option(names = "--replica-id", description = "Override authz.replica_id.")
  String replicaId;

  @Option(names = "--metrics-port",
      description = "Override authz.metrics_port (0 = any free port, -1 = off).")
  Integer metricsPort;

  @Override
  public Integer call() throws InterruptedException {
    ConfigFile file = ConfigFile.load(config);
    AuthzConfig c = file.authz();
    if (host != null) {
      c = c.withHost(host);
    }
    if (port != null) {
      c = c.withPort(port);
    }
    if (controlPlane != null) {
      c = c.withControlPlane(controlPlane);
    }
    if (replicaId != null) {
      c = c.withReplicaId(replicaId);
    }
    if (metricsPort != null) {
      c = c.withMetricsPort(metricsPort);
    }
    c.validate();
    AuthzServer server =
        AuthzServer.start(c, file.authzReports(), Clock.systemUTC(), System::getenv,
            new DecisionLog());
    Runtime.getRuntime().addShutdownHook(new Thread(server::close, "authz-shutdown"));
    server.awaitTermination();
    return ExitCodes.OK;
  }
}
