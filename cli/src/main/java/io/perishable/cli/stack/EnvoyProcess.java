package io.perishable.cli.stack;

import java.io.File;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.RandomAccessFile;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A running Envoy, started from a bootstrap file and ready to serve when {@link #start}
 * returns. {@link #close()} stops it.
 *
 * <p>Several can run at once (tests in parallel, a test beside the local stack): each gets its
 * own shared-memory base id ({@code --use-dynamic-base-id}), and ports come from the config.
 * If the JVM exits without {@code close()}, a shutdown hook kills the process so no Envoy is
 * left holding ports.
 */
public final class EnvoyProcess implements AutoCloseable {
  /** How long Envoy may take to load its config and report LIVE. */
  static final Duration READY_TIMEOUT = Duration.ofSeconds(30);

  /** Between readiness probes; Envoy is usually ready within ~100 ms. */
  static final Duration POLL_INTERVAL = Duration.ofMillis(25);

  /** How long SIGTERM gets before SIGKILL. */
  static final Duration STOP_GRACE = Duration.ofSeconds(5);

  private static final int LOG_TAIL_LINES = 40;

  private static final HttpClient ADMIN_CLIENT =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(1))
          .build();

  private final Process process;
  private final int adminPort;
  private final Path logFile;
  private final Thread shutdownHook;

  private EnvoyProcess(Process process, int adminPort, Path logFile) {
    this.process = process;
    this.adminPort = adminPort;
    this.logFile = logFile;
    this.shutdownHook = new Thread(process::destroyForcibly, "envoy-" + process.pid() + "-kill");
  }

  /**
   * Starts {@code envoyBinary -c configFile} with its stdout and stderr (Envoy's log and the
   * stdout access log) written to {@code logFile}, and waits until its admin API on
   * 127.0.0.1:{@code adminPort} answers {@code GET /ready} with 200 {@code LIVE}.
   *
   * @param adminPort the admin port configured in {@code configFile}
   * @throws EnvoyException if Envoy exits first (bad config, port taken) or is not ready within
   *     30 seconds; the message ends with the last lines of its log. The process is stopped.
   */
  public static EnvoyProcess start(Path envoyBinary, Path configFile, int adminPort, Path logFile)
      throws IOException {
    Path logDir = logFile.toAbsolutePath().getParent();
    if (logDir != null) {
      Files.createDirectories(logDir);
    }
    ProcessBuilder builder =
        new ProcessBuilder(
                envoyBinary.toString(),
                "-c",
                configFile.toString(),
                "--use-dynamic-base-id",
                "--log-level",
                "warn")
            .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.to(logFile.toFile()));
    Process process;
    try {
      process = builder.start();
    } catch (IOException e) {
      throw new EnvoyException("cannot start " + envoyBinary + ": " + e.getMessage(), e);
    }
    EnvoyProcess envoy = new EnvoyProcess(process, adminPort, logFile);
    Runtime.getRuntime().addShutdownHook(envoy.shutdownHook);
    try {
      envoy.awaitReady(configFile);
    } catch (IOException | RuntimeException e) {
      envoy.close();
      throw e;
    }
    return envoy;
  }

  /** The admin API's port on 127.0.0.1. */
  public int adminPort() {
    return adminPort;
  }

  /** The admin API's base URI, e.g. {@code http://127.0.0.1:9901/}. */
  public URI adminUri() {
    return URI.create("http://127.0.0.1:" + adminPort + "/");
  }

  /** Where Envoy's log (and its stdout access log) goes. */
  public Path logFile() {
    return logFile;
  }

  public long pid() {
    return process.pid();
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  /**
   * Stops Envoy: SIGTERM, then SIGKILL if it is still running after a few seconds. Returns once
   * the process is gone. Safe to call more than once.
   */
  @Override
  public void close() {
    try {
      Runtime.getRuntime().removeShutdownHook(shutdownHook);
    } catch (IllegalStateException | IllegalArgumentException alreadyShuttingDownOrRemoved) {
      // The JVM is exiting (the hook runs anyway) or close() already ran.
    }
    if (!process.isAlive()) {
      return;
    }
    process.destroy();
    try {
      if (!process.waitFor(STOP_GRACE.toMillis(), TimeUnit.MILLISECONDS)) {
        process.destroyForcibly();
        process.waitFor(STOP_GRACE.toMillis(), TimeUnit.MILLISECONDS);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }

  private void awaitReady(Path configFile) throws IOException {
    HttpRequest ready =
        HttpRequest.newBuilder(adminUri().resolve("ready"))
            .timeout(Duration.ofSeconds(1))
            .GET()
            .build();
    long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
    while (true) {
      if (!process.isAlive()) {
        throw new EnvoyException(
            "Envoy (" + configFile + ") exited with status " + process.exitValue()
                + " before it was ready" + logTail());
      }
      if (isLive(ready) && process.isAlive()) {
        return;
      }
      if (System.nanoTime() - deadline > 0) {
        throw new EnvoyException(
            "Envoy (" + configFile + ") did not report LIVE on " + ready.uri() + " within "
                + READY_TIMEOUT.toSeconds() + "s" + logTail());
      }
      sleep(POLL_INTERVAL);
    }
  }

  private static boolean isLive(HttpRequest ready) throws IOException {
    try {
      HttpResponse<String> response =
          ADMIN_CLIENT.send(ready, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
      return response.statusCode() == 200 && response.body().strip().equals("LIVE");
    } catch (InterruptedException e) {
      throw interrupted(e);
    } catch (IOException notListeningYet) {
      return false;
    }
  }

  private static void sleep(Duration duration) throws IOException {
    try {
      Thread.sleep(duration.toMillis());
    } catch (InterruptedException e) {
      throw interrupted(e);
    }
  }

  private static InterruptedIOException interrupted(InterruptedException e) {
    Thread.currentThread().interrupt();
    InterruptedIOException interrupted =
        new InterruptedIOException("interrupted while waiting for Envoy");
    interrupted.initCause(e);
    return interrupted;
  }

  /** The last lines of the log, formatted to end an error message. */
  private String logTail() {
    List<String> lines;
    try {
      lines = lastLines(logFile, LOG_TAIL_LINES);
    } catch (IOException e) {
      return "; its log " + logFile + " cannot be read: " + e.getMessage();
    }
    if (lines.isEmpty()) {
      return "; its log " + logFile + " is empty";
    }
    return "; last lines of " + logFile + ":\n  " + String.join("\n  ", lines);
  }

  /** Up to {@code count} last lines of {@code file}, reading at most its last 64 KiB. */
  static List<String> lastLines(Path file, int count) throws IOException {
    if (!Files.exists(file)) {
      return List.of();
    }
    byte[] bytes;
    try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "r")) {
      long length = raf.length();
      int size = (int) Math.min(length, 64 * 1024);
      bytes = new byte[size];
      raf.seek(length - size);
      raf.readFully(bytes);
    }
    String[] all = new String(bytes, StandardCharsets.UTF_8).split("\r?\n");
    List<String> lines = new ArrayList<>();
    for (int i = Math.max(0, all.length - count); i < all.length; i++) {
      if (!all[i].isBlank()) {
        lines.add(all[i]);
      }
    }
    return lines;
  }
}
