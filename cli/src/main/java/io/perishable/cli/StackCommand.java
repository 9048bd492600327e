package io.perishable.cli;

import io.perishable.authz.decision.DecisionLog;
import io.perishable.cli.stack.EnvoyBinary;
import io.perishable.cli.stack.LocalStack;
import java.nio.file.Path;
import java.time.Clock;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code perishable stack}: the whole system on loopback, until Ctrl-C. */
@Command(name = "stack", mixinStandardHelpOptions = true,
    description = {"Run the control plane, authz-service, a real Envoy and the fake LLM "
        + "upstream on loopback, and print how to issue a token and call through Envoy."})
final class StackCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Option(names = "--data-dir", defaultValue = ".data/stack",
      description = "Where keys, secrets, config and logs go (default: ${DEFAULT-VALUE}).")
  Path dataDir;

  @Option(names = "--envoy-port", defaultValue = "10000", description = "Envoy's listener.")
  int envoyPort;

  @Option(names = "--envoy-admin-port", defaultValue = "9901", description = "Envoy admin.")
  int envoyAdminPort;

  @Option(names = "--control-plane-port", defaultValue = "7400")
  int controlPlanePort;

  @Option(names = "--authz-port", defaultValue = "7401")
  int authzPort;

  @Option(names = "--fake-llm-port", defaultValue = "7480")
  int fakeLlmPort;

  @Override
  public Integer call() throws InterruptedException {
    LocalStack stack = LocalStack.start(new LocalStack.Options(EnvoyBinary.repoRoot(), dataDir,
        System.getenv(), envoyPort, envoyAdminPort, controlPlanePort, authzPort, fakeLlmPort, Clock.systemUTC(),
        Clock.systemUTC(), new DecisionLog()));
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      stack.close();
      stopped.countDown();
    }, "stack-shutdown"));
    String secretFile = dataDir.resolve("issuer-secret").toString();
    spec.commandLine().getOut().println(String.join("\n",
        "",
        "perishable stack is up (Ctrl-C stops it):",
        "  Envoy, the LLM endpoint      " + stack.envoyUrl(),
        "  control plane (gRPC)         " + stack.controlPlaneTarget(),
        "  control plane metrics        http://127.0.0.1:" + stack.controlPlane().metricsPort()
            + "/metrics",
        "  authz-service (gRPC)         127.0.0.1:" + stack.authzPort(),
        "  authz-service metrics        http://127.0.0.1:" + stack.authz().metricsPort()
            + "/metrics",
        stack.usesFakeUpstream()
            ? "  fake LLM upstream            http://127.0.0.1:" + stack.fakeLlm().port()
                + "  (no OPENAI_API_KEY/ANTHROPIC_API_KEY set)"
            : "  upstreams                    the real providers, keys from the environment",
        "  config                       " + stack.configFile(),
        "  Envoy admin                  http://127.0.0.1:" + stack.envoyAdminPort(),
        "",
        "Issue a token (the issuer secret is in " + secretFile + "):",
        "  TOKEN=$(./bin/perishable issue --agent demo --scope llm:complete \\",
        "      --model gpt-4o-mini --max-tokens 256 --ttl 10m)",
        "",
        "Call the LLM through Envoy with it, exactly like an OpenAI key:",
        "  curl -s " + stack.envoyUrl() + "/v1/chat/completions \\",
        "    -H \"authorization: Bearer $TOKEN\" -H 'content-type: application/json' \\",
        "    -d '{\"model\":\"gpt-4o-mini\",\"max_tokens\":64,"
            + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}'",
        "",
        "Or with the OpenAI SDK: OpenAI(base_url=\"" + stack.envoyUrl()
            + "/v1\", api_key=TOKEN)",
        "Anthropic-style: --upstream anthropic, then POST /v1/messages with "
            + "'x-api-key: $TOKEN'.",
        ""));
    spec.commandLine().getOut().flush();
    stopped.await();
    return ExitCodes.OK;
  }
}
