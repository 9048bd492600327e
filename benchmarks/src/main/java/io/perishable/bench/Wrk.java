package io.perishable.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Runs {@code wrk} (Debian's package): a fixed number of connections, each sending the next
 * request as soon as the previous response arrived, for a fixed time. A generated Lua script
 * sets the method, headers and body, and prints wrk's own counts and latency percentiles as
 * one JSON line, which {@link #parse} reads.
 */
public final class Wrk {
  static final String RESULT_PREFIX = "perishable-wrk ";
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Path binary;
  private final Path workDir;

  /** @param workDir where scripts (they hold the token: owner-only) and the body file go */
  public Wrk(Path binary, Path workDir) {
    this.binary = binary;
    this.workDir = workDir;
  }

  /**
   * POSTs {@code body} with {@code headers} to {@code url} over {@code connections}
   * connections (one wrk thread) for {@code duration}.
   */
  public LoadResult run(String label, URI url, Map<String, String> headers, byte[] body,
      int connections, Duration duration) throws IOException, InterruptedException {
    Files.createDirectories(workDir);
    String name = label.replaceAll("[^A-Za-z0-9]+", "-");
    Path bodyFile = workDir.resolve(name + ".body");
    Files.write(bodyFile, body);
    Path script = ownerOnly(workDir.resolve(name + ".lua"));
    Files.writeString(script, script(headers, bodyFile), StandardCharsets.UTF_8);
    List<String> command = new ArrayList<>(List.of(binary.toString(),
        "--threads", "1",
        "--connections", Integer.toString(connections),
        "--duration", Math.max(1, duration.toSeconds()) + "s",
        "--timeout", "5s",
        "--script", script.toString(),
        url.toString()));
    String output = Tools.run(command, duration.plusSeconds(30), workDir.resolve(name + ".out"));
    return parse(label, output);
  }

  /** The Lua script: request shape, and a JSON summary line at the end of the run. */
  static String script(Map<String, String> headers, Path bodyFile) {
    StringBuilder lua = new StringBuilder();
    lua.append("wrk.method = \"POST\"\n");
    lua.append("local f = assert(io.open(").append(luaString(bodyFile.toString()))
        .append(", \"rb\"))\nwrk.body = f:read(\"*a\")\nf:close()\n");
    headers.forEach((name, value) -> lua.append("wrk.headers[ ").append(luaString(name))
        .append(" ] = ").append(luaString(value)).append('\n'));
    lua.append("""
        done = function(summary, latency, requests)
          local e = summary.errors
          io.write(string.format('%s{"requests":%d,"duration_us":%d,"status_errors":%d,'
            .. '"connect_errors":%d,"read_errors":%d,"write_errors":%d,"timeouts":%d,'
            .. '"p50_us":%d,"p99_us":%d}\\n',
            'perishable-wrk ', summary.requests, summary.duration, e.status, e.connect, e.read,
            e.write, e.timeout, latency:percentile(50), latency:percentile(99)))
        end
        """);
    return lua.toString();
  }

  /** Reads the JSON line the script prints; the rest of wrk's output is ignored. */
  static LoadResult parse(String label, String output) {
    for (String line : output.split("\n")) {
      if (!line.startsWith(RESULT_PREFIX)) {
        continue;
      }
      JsonNode r;
      try {
        r = JSON.readTree(line.substring(RESULT_PREFIX.length()));
      } catch (IOException e) {
        throw new IllegalStateException(label + ": unreadable wrk summary: " + line, e);
      }
      long requests = r.path("requests").asLong();
      double seconds = r.path("duration_us").asLong() / 1e6;
      long status = r.path("status_errors").asLong();
      long socket = r.path("connect_errors").asLong() + r.path("read_errors").asLong()
          + r.path("write_errors").asLong() + r.path("timeouts").asLong();
      String detail = (status > 0 ? status + " non-2xx/3xx responses" : "")
          + (status > 0 && socket > 0 ? ", " : "")
          + (socket > 0 ? socket + " socket errors or timeouts" : "");
      return new LoadResult(label, requests, seconds > 0 ? requests / seconds : 0,
          r.path("p50_us").asDouble(), r.path("p99_us").asDouble(), status + socket, detail);
    }
    throw new IllegalStateException(label + ": wrk printed no summary line:\n" + output);
  }

  private static String luaString(String s) {
    if (s.contains("]==]")) {
      throw new IllegalArgumentException("cannot quote for Lua: " + s);
    }
    return "[==[" + s + "]==]";
  }

  private static Path ownerOnly(Path file) throws IOException {
    Files.deleteIfExists(file);
    return Files.createFile(file, PosixFilePermissions.asFileAttribute(
        PosixFilePermissions.fromString("rw-------")));
  }
}
