package io.perishable.bench;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs an external load generator with a hard time limit and keeps what it printed. */
final class Tools {
  private Tools() {}

  /**
   * Runs {@code command} with stdout and stderr into {@code outputFile}, and returns the output.
   *
   * @throws IllegalStateException if it exits non-zero or outlives {@code limit} (it is killed)
   */
  static String run(List<String> command, Duration limit, Path outputFile)
      throws IOException, InterruptedException {
    Process process = new ProcessBuilder(command)
        .redirectErrorStream(true)
        .redirectOutput(outputFile.toFile())
        .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
        .start();
    try {
      if (!process.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS)) {
        throw new IllegalStateException(command.get(0) + " did not finish within "
            + limit.toSeconds() + "s; output in " + outputFile);
      }
    } finally {
      process.destroyForcibly();
    }
    String output = Files.readString(outputFile, StandardCharsets.UTF_8);
    if (process.exitValue() != 0) {
      throw new IllegalStateException(Path.of(command.get(0)).getFileName() + " exited "
          + process.exitValue() + ":\n" + output.strip());
    }
    return output;
  }
}
