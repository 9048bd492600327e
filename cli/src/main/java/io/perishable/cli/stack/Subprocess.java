package io.perishable.cli.stack;

import java.io.File;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Runs a short-lived command to completion and captures what it printed. */
final class Subprocess {
  private Subprocess() {}

  /** What a finished command printed, and how it exited. */
  record Result(List<String> command, int exitCode, String stdout, String stderr) {
    boolean succeeded() {
      return exitCode == 0;
    }

    /** stdout and stderr together, for error messages. */
    String output() {
      if (stdout.isBlank()) {
        return stderr.strip();
      }
      if (stderr.isBlank()) {
        return stdout.strip();
      }
      return stdout.strip() + "\n" + stderr.strip();
    }
  }

  /**
   * Runs {@code command} with the current environment plus {@code environment}, without a
   * terminal or standard input, and waits for it.
   *
   * @throws EnvoyException if it cannot be started or is still running after {@code timeout}
   *     (it is then killed)
   */
  static Result run(List<String> command, Map<String, String> environment, Duration timeout)
      throws IOException {
    // Files, not pipes: a chatty command can never block on a full pipe we are not reading.
    Path out = Files.createTempFile("perishable-cmd-", ".out");
    Path err = Files.createTempFile("perishable-cmd-", ".err");
    try {
      ProcessBuilder builder =
          new ProcessBuilder(command)
              .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
              .redirectOutput(out.toFile())
              .redirectError(err.toFile());
      builder.environment().putAll(environment);
      Process process;
      try {
        process = builder.start();
      } catch (IOException e) {
        throw new EnvoyException(
            "cannot run " + String.join(" ", command) + ": " + e.getMessage(), e);
      }
      try {
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
          process.destroyForcibly();
          throw new EnvoyException(
              String.join(" ", command) + " did not finish within " + timeout.toSeconds() + "s");
        }
      } catch (InterruptedException e) {
        process.destroyForcibly();
        Thread.currentThread().interrupt();
        InterruptedIOException interrupted =
            new InterruptedIOException("interrupted while running " + String.join(" ", command));
        interrupted.initCause(e);
        throw interrupted;
      }
      return new Result(
          List.copyOf(command),
          process.exitValue(),
          Files.readString(out, StandardCharsets.UTF_8),
          Files.readString(err, StandardCharsets.UTF_8));
    } finally {
      Files.deleteIfExists(out);
      Files.deleteIfExists(err);
    }
  }
}
