package io.perishable.cli;

import io.perishable.cli.config.ConfigFile;
import io.perishable.controlplane.ControlPlaneServer;
import io.perishable.controlplane.config.ControlPlaneConfig;
import java.nio.file.Path;
import java.time.Clock;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code perishable control-plane}: runs the control plane until stopped. */
@Command(name = "control-plane", mixinStandardHelpOptions = true,
    description = "Run the control plane (TokenService, Sync) until SIGTERM/Ctrl-C.")
final class ControlPlaneCommand implements Callable<Integer> {
  @Option(names = {"-c", "--config"}, required = true, description = "perishable.yaml")
  Path config;

  @Option(names = "--port", description = "Override control_plane.port.")
  Integer port;

  @Option(names = "--data-dir", description = "Override control_plane.data_dir.")
  Path dataDir;

  @Override
  public Integer call() throws InterruptedException {
    ControlPlaneConfig c = ConfigFile.load(config).controlPlane();
    c = new ControlPlaneConfig(c.host(), port != null ? port : c.port(),
        dataDir != null ? dataDir : c.dataDir(), c.defaultTtl(), c.maxTtl(), c.scopes(),
        c.upstreams(), c.defaultUpstream(), c.issuers(), c.heartbeatInterval(),
        c.maxDelegationDepth()).validate();
    ControlPlaneServer server = ControlPlaneServer.start(c, Clock.systemUTC());
    Runtime.getRuntime().addShutdownHook(new Thread(server::close, "control-plane-shutdown"));
    server.awaitTermination();
    return ExitCodes.OK;
  }
}
