package io.perishable.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import com.google.protobuf.DescriptorProtos.FileDescriptorSet;
import com.google.protobuf.Descriptors.FileDescriptor;
import com.google.protobuf.Message;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.Set;

/**
 * Runs {@code ghz} (Go module proxy) against one unary gRPC method with a fixed binary request:
 * at saturation (no rate limit) or at a fixed offered rate. The method's schema is handed over
 * as a protoset built from the Java descriptors, so ghz needs neither .proto files nor server
 * reflection. Any call that does not end in OK counts as an error.
 */
public final class Ghz {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Path binary;
  private final Path workDir;

  public Ghz(Path binary, Path workDir) {
    this.binary = binary;
    this.workDir = workDir;
  }

  /**
   * One unary method and the request to send it, as ghz wants them on disk.
   *
   * @param call {@code package.Service.Method}
   * @param metadata gRPC metadata sent with every call (e.g. an issuer secret)
   */
  public record Call(String call, Path protoset, Path requestFile, Map<String, String> metadata) {}

  /** Writes the protoset for {@code schema} and the request bytes; returns the {@link Call}. */
  public Call prepare(String name, String call, FileDescriptor schema, Message request,
      Map<String, String> metadata) throws IOException {
    Files.createDirectories(workDir);
    Path protoset = workDir.resolve(name + ".protoset");
    try (OutputStream out = Files.newOutputStream(protoset)) {
      protoset(schema).writeTo(out);
    }
    Path requestFile = workDir.resolve(name + ".bin");
    Files.write(requestFile, request.toByteArray());
    return new Call(call, protoset, requestFile, metadata);
  }

  /**
   * Calls {@code target} for {@code duration} with {@code concurrency} workers over {@code
   * connections} HTTP/2 connections; {@code rps} empty means as fast as the server answers.
   * ghz fails the calls still in flight when the time is up, so use this for warm-ups and
   * estimates; measure with {@link #runCount}.
   */
  public LoadResult runFor(String label, Call call, String target, int concurrency,
      int connections, Duration duration, OptionalDouble rps)
      throws IOException, InterruptedException {
    return run(label, call, target, concurrency, connections,
        List.of("--duration", Math.max(1, duration.toMillis()) + "ms"), rps, duration);
  }

  /**
   * Sends exactly {@code total} calls, expected to take about {@code expected}; every call is
   * answered, so every error counts.
   */
  public LoadResult runCount(String label, Call call, String target, int concurrency,
      int connections, long total, Duration expected, OptionalDouble rps)
      throws IOException, InterruptedException {
    return run(label, call, target, concurrency, connections,
        List.of("--total", Long.toString(Math.max(1, total))), rps, expected.multipliedBy(3));
  }

  private LoadResult run(String label, Call call, String target, int concurrency,
      int connections, List<String> howLong, OptionalDouble rps, Duration limit)
      throws IOException, InterruptedException {
    String name = label.replaceAll("[^A-Za-z0-9]+", "-");
    Path report = workDir.resolve(name + ".json");
    Files.deleteIfExists(report);
    List<String> command = new ArrayList<>(List.of(binary.toString(),
        "--insecure",
        "--protoset", call.protoset().toString(),
        "--call", call.call(),
        "--binary-file", call.requestFile().toString(),
        "--concurrency", Integer.toString(concurrency),
        "--connections", Integer.toString(connections),
        "--timeout", "5s",
        "--format", "json",
        "--output", report.toString()));
    command.addAll(howLong);
    if (!call.metadata().isEmpty()) {
      // A file, owner-only: metadata can be a secret, and a command line is not.
      Path metadata = workDir.resolve(name + ".metadata.json");
      Files.deleteIfExists(metadata);
      Files.createFile(metadata, PosixFilePermissions.asFileAttribute(
          PosixFilePermissions.fromString("rw-------")));
      Files.writeString(metadata, JSON.writeValueAsString(call.metadata()));
      command.add("--metadata-file");
      command.add(metadata.toString());
    }
    if (rps.isPresent()) {
      command.add("--rps");
      command.add(Long.toString(Math.max(1, Math.round(rps.getAsDouble()))));
    }
    command.add(target);
    Tools.run(command, limit.plusSeconds(30), workDir.resolve(name + ".out"));
    return parse(label, Files.readString(report, StandardCharsets.UTF_8));
  }

  /** Reads ghz's JSON report (latencies in nanoseconds). */
  static LoadResult parse(String label, String report) {
    JsonNode r;
    try {
      r = JSON.readTree(report);
    } catch (IOException e) {
      throw new IllegalStateException(label + ": unreadable ghz report", e);
    }
    double p50 = Double.NaN;
    double p99 = Double.NaN;
    for (JsonNode bucket : r.path("latencyDistribution")) {
      int percentage = bucket.path("percentage").asInt();
      if (percentage == 50) {
        p50 = bucket.path("latency").asLong() / 1000.0;
      } else if (percentage == 99) {
        p99 = bucket.path("latency").asLong() / 1000.0;
      }
    }
    long errors = 0;
    StringBuilder detail = new StringBuilder();
    Iterator<Map.Entry<String, JsonNode>> statuses = r.path("statusCodeDistribution").fields();
    while (statuses.hasNext()) {
      Map.Entry<String, JsonNode> status = statuses.next();
      if (!status.getKey().equals("OK")) {
        errors += status.getValue().asLong();
      }
    }
    Iterator<Map.Entry<String, JsonNode>> messages = r.path("errorDistribution").fields();
    while (messages.hasNext()) {
      Map.Entry<String, JsonNode> message = messages.next();
      detail.append(detail.length() == 0 ? "" : "; ").append(message.getValue().asLong())
          .append("x ").append(message.getKey());
    }
    return new LoadResult(label, r.path("count").asLong(), r.path("rps").asDouble(), p50, p99,
        errors, detail.toString());
  }

  /** The file and every file it imports, dependencies first. */
  static FileDescriptorSet protoset(FileDescriptor schema) {
    List<FileDescriptorProto> files = new ArrayList<>();
    addWithDependencies(schema, new HashSet<>(), files);
    return FileDescriptorSet.newBuilder().addAllFile(files).build();
  }

  private static void addWithDependencies(
      FileDescriptor file, Set<String> seen, List<FileDescriptorProto> out) {
    if (!seen.add(file.getName())) {
      return;
    }
    for (FileDescriptor dependency : file.getDependencies()) {
      addWithDependencies(dependency, seen, out);
    }
    out.add(file.toProto());
  }
}
