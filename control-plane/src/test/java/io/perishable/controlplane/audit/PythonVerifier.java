package io.perishable.controlplane.audit;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Runs the Python verifier printed in docs/audit-log.md, exactly as printed, with a Python that
 * has {@code blake3} and {@code cryptography}: a venv in {@code <repo>/.tools/audit-py-venv},
 * created on first use ({@code python3 -m venv} + {@code pip install}).
 */
final class PythonVerifier {
  /** What one run printed and how it exited. */
  record Result(int exitCode, String output) {}

  private final Path python;
  private final Path script;

  private PythonVerifier(Path python, Path script) {
    this.python = python;
    this.script = script;
  }

  /**
   * The verifier, or empty with why not (no python3, no network for pip, no docs). Extracts the
   * program into {@code workDir}.
   */
  static Optional<PythonVerifier> prepare(Path workDir, StringBuilder whyNot) throws Exception {
    Path root = repoRoot();
    String doc = Files.readString(root.resolve("docs/audit-log.md"), StandardCharsets.UTF_8);
    int start = doc.indexOf("```python\n");
    int end = doc.indexOf("```", start + 10);
    if (start < 0 || end < 0) {
      throw new IllegalStateException("docs/audit-log.md has no ```python block");
    }
    Path script = workDir.resolve("verify.py");
    Files.writeString(script, doc.substring(start + 10, end), StandardCharsets.UTF_8);

    Path venv = root.resolve(".tools/audit-py-venv");
    Path python = venv.resolve("bin/python");
    Files.createDirectories(venv.getParent());
    // one test JVM at a time creates the venv
    try (FileChannel lockFile = FileChannel.open(root.resolve(".tools/audit-py-venv.lock"),
        StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
      lockFile.lock();
      if (!Files.isExecutable(python) || run(List.of(python.toString(), "-c",
          "import blake3, cryptography"), 60).exitCode() != 0) {
        Result venvMade = run(List.of("python3", "-m", "venv", "--clear", venv.toString()), 120);
        if (venvMade.exitCode() != 0) {
          whyNot.append("python3 -m venv failed: ").append(venvMade.output());
          return Optional.empty();
        }
        Result pip = run(List.of(venv.resolve("bin/pip").toString(), "install", "--quiet",
            "--disable-pip-version-check", "blake3", "cryptography"), 600);
        if (pip.exitCode() != 0) {
          whyNot.append("pip install blake3 cryptography failed: ").append(pip.output());
          return Optional.empty();
        }
      }
    } catch (IOException e) {
      whyNot.append("cannot run python3: ").append(e.getMessage());
      return Optional.empty();
    }
    return Optional.of(new PythonVerifier(python, script));
  }

  /** Runs {@code verify.py export [keyHex…]}. */
  Result verify(Path export, List<String> keysHex) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(python.toString(), script.toString(),
        export.toString()));
    cmd.addAll(keysHex);
    return run(cmd, 120);
  }

  private static Result run(List<String> command, int timeoutSeconds) throws Exception {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    byte[] out = p.getInputStream().readAllBytes();
    if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      return new Result(-1, "timed out: " + command);
    }
    return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8).trim());
  }

  private static Path repoRoot() {
    Path dir = Path.of("").toAbsolutePath();
    while (dir != null) {
      if (Files.exists(dir.resolve("mvnw")) && Files.isDirectory(dir.resolve("docs"))) {
        return dir;
      }
      dir = dir.getParent();
    }
    throw new IllegalStateException("cannot find the repository root above "
        + Path.of("").toAbsolutePath());
  }
}
