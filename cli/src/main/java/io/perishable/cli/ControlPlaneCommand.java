package io.perishable.cli;

import io.perishable.cli.config.ConfigFile;
import io.perishable.controlplane.ControlPlaneServer;
import io.perishable.controlplane.audit.AuditLogCorruptedException;
import io.perishable.controlplane.config.ControlPlaneConfig;
import java.nio.file.Path;
import java.time.Clock;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code perishable control-plane}: runs the control plane until stopped. A damaged audit log
 * makes it refuse to start (exit {@link ExitCodes#DAMAGED_DATA}) naming the first bad record,
 * unless {@code --quarantine-damaged-tail} (or {@code control_plane.audit.quarantine_damaged_tail})
 * says to move the damaged tail aside.
 */
@Command(name = "control-plane", mixinStandardHelpOptions = true,
    description = "Run the control plane (TokenService, AuditService, Sync) until "
        + "SIGTERM/Ctrl-C.")
final class ControlPlaneCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Option(names = {"-c", "--config"}, required = true, description = "perishable.yaml")
  Path config;

  @Option(names = "--port", description = "Override control_plane.port.")
  Integer port;

  @Option(names = "--data-dir", description = "Override control_plane.data_dir.")
  Path dataDir;

  @Option(names = "--metrics-port",
      description = "Override control_plane.metrics_port (0 = any free port, -1 = off).")
  Integer metricsPort;

  @Option(names = "--quarantine-damaged-tail", description = "If the audit log is damaged, "
      + "move everything from the first bad record on to side files and start from the last "
      + "good record, instead of refusing to start.")
  boolean quarantineDamagedTail;

  @Override
  public Integer call() throws InterruptedException {
    ControlPlaneConfig c = ConfigFile.load(config).controlPlane();
    if (port != null) {
      c = c.withPort(port);
    }
    if (dataDir != null) {
      c = c.withDataDir(dataDir);
    }
    if (metricsPort != null) {
      c = c.withMetricsPort(metricsPort);
    }
    if (quarantineDamagedTail) {
      c = c.withAudit(c.audit().withQuarantineDamagedTail(true));
    }
    c.validate();
    ControlPlaneServer server;
    try {
      server = ControlPlaneServer.start(c, Clock.systemUTC());
    } catch (AuditLogCorruptedException e) {
      spec.commandLine().getErr().println("perishable control-plane: refusing to start: the "
          + "audit log is damaged at seq " + e.firstBadSeq() + " (" + e.file() + " line "
          + e.line() + "): " + e.reason() + ". Run `perishable audit verify --data-dir "
          + c.dataDir() + "` to inspect it; restart with --quarantine-damaged-tail to move "
          + "everything from seq " + e.firstBadSeq() + " on aside and continue from the last "
          + "good record.");
      return ExitCodes.DAMAGED_DATA;
    }
    Runtime.getRuntime().addShutdownHook(new Thread(server::close, "control-plane-shutdown"));
    server.awaitTermination();
    return ExitCodes.OK;
  }
}
