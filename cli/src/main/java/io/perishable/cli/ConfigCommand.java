package io.perishable.cli;

import io.perishable.cli.config.ConfigFile;
import io.perishable.cli.config.EffectiveConfig;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code perishable config}: checks a config file and prints what each service would run with,
 * defaults filled in and secrets masked. Exits 3 naming the field when the file is wrong.
 */
@Command(name = "config", mixinStandardHelpOptions = true,
    description = {"Validate a config file and print the effective configuration "
        + "(defaults filled in, secrets masked)."})
final class ConfigCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Option(names = {"-c", "--config"}, required = true, description = "perishable.yaml")
  Path config;

  @Option(names = "--service", defaultValue = "all",
      description = "control-plane, authz or all (default: ${DEFAULT-VALUE}).")
  String service;

  @Option(names = "--json", description = "JSON instead of YAML.")
  boolean json;

  @Override
  public Integer call() {
    ConfigFile file = ConfigFile.load(config);
    Map<String, Object> sections = new LinkedHashMap<>();
    if (service.equals("all") || service.equals("control-plane")) {
      sections.put("control_plane", file.controlPlane().validate());
    }
    if (service.equals("all") || service.equals("authz")) {
      sections.put("authz", file.authz().validate());
    }
    if (sections.isEmpty()) {
      throw new picocli.CommandLine.ParameterException(spec.commandLine(),
          "--service must be control-plane, authz or all");
    }
    spec.commandLine().getOut().print(EffectiveConfig.render(sections, json));
    spec.commandLine().getOut().flush();
    return ExitCodes.OK;
  }
}
