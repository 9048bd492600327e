package io.perishable.cli.stack;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/** {@code envoy --mode validate}: checks a bootstrap as Envoy would load it, without serving. */
public final class EnvoyValidator {
  static final Duration TIMEOUT = Duration.ofSeconds(60);

  private EnvoyValidator() {}

  /**
   * Validates {@code configFile} with {@code envoyBinary}: every field name, type and extension
   * is checked, clusters and listeners are built (nothing binds, no DNS is resolved).
   *
   * @throws EnvoyException if Envoy rejects it, with Envoy's explanation
   */
  public static void validate(Path envoyBinary, Path configFile) throws IOException {
    Subprocess.Result result =
        Subprocess.run(
            List.of(
                envoyBinary.toString(),
                "--mode",
                "validate",
                // Validation may run beside live Envoys (tests, the local stack).
                "--use-dynamic-base-id",
                "--log-level",
                "warn",
                "-c",
                configFile.toString()),
            Map.of(),
            TIMEOUT);
    if (!result.succeeded()) {
      throw new EnvoyException(
          "Envoy rejects " + configFile + " (exit " + result.exitCode() + "):\n"
              + result.output());
    }
  }
}
