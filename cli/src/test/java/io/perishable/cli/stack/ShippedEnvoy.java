package io.perishable.cli.stack;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The checkout's shipped Envoy configs and the pinned Envoy binary, located once per test JVM
 * (the first call may install Envoy through envoy/install-envoy.sh, as CI does).
 */
final class ShippedEnvoy {
  private static Path binary;

  private ShippedEnvoy() {}

  static Path repoRoot() {
    return EnvoyBinary.repoRoot();
  }

  static Path devConfig() {
    return repoRoot().resolve("envoy/dev.yaml");
  }

  /** Every envoy/*.yaml, sorted. */
  static List<Path> configs() {
    try (Stream<Path> files = Files.list(repoRoot().resolve("envoy"))) {
      return files
          .filter(file -> file.getFileName().toString().endsWith(".yaml"))
          .sorted()
          .collect(Collectors.toList());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static synchronized Path binary() throws IOException {
    if (binary == null) {
      binary = EnvoyBinary.locate(repoRoot());
    }
    return binary;
  }
}
