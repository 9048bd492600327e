package io.perishable.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code perishable}: the entry point. */
@Command(
    name = "perishable",
    mixinStandardHelpOptions = true,
    versionProvider = PerishableCommand.Version.class,
    description = "Short-lived, scoped credentials for LLM APIs.",
    subcommands = {
        ControlPlaneCommand.class,
        AuthzCommand.class,
        StackCommand.class,
        IssueCommand.class,
        RevokeCommand.class,
        ListCommand.class,
        LineageCommand.class,
        UsageCommand.class,
        IssuerSecretCommand.class,
        ConfigCommand.class,
        AuditCommand.class,
        CommandLine.HelpCommand.class
    })
public final class PerishableCommand implements Runnable {
  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "name a command");
  }

  public static void main(String[] args) {
    configureLogging();
    System.exit(commandLine().execute(args));
  }

  /** The configured command line, also for tests. */
  public static CommandLine commandLine() {
    CommandLine cli = new CommandLine(new PerishableCommand());
    // A usage error raised from a command's own checks is still a usage error (the mapper
    // also decides picocli's parse errors once it is set).
    cli.setExitCodeExceptionMapper(e -> e instanceof CommandLine.ParameterException
        ? ExitCodes.USAGE
        : e instanceof IllegalArgumentException ? ExitCodes.CONFIG : ExitCodes.SERVER_ERROR);
    cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
      commandLine.getErr().println("perishable: " + e.getMessage());
      return commandLine.getExitCodeExceptionMapper().getExitCode(e);
    });
    return cli;
  }

  /** One line per record: time, level, logger, message. */
  static void configureLogging() {
    if (System.getProperty("java.util.logging.SimpleFormatter.format") == null) {
      System.setProperty("java.util.logging.SimpleFormatter.format",
          "%1$tFT%1$tT.%1$tLZ %4$-7s %3$s: %5$s%6$s%n");
    }
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = PerishableCommand.class.getPackage().getImplementationVersion();
      return new String[] {"perishable " + (v == null ? "(development build)" : v)};
    }
  }
}
