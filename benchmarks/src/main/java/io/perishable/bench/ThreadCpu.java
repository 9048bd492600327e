package io.perishable.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/**
 * CPU time of this JVM's threads by kind (Linux {@code /proc/self/task}): which of gRPC's event
 * loops, the fake upstream's, the JIT compilers and the garbage collector spent what. JFR's
 * samples see only Java frames; this also counts the kernel time of socket calls, compilation
 * and GC.
 */
final class ThreadCpu {
  private static final Path TASKS = Path.of("/proc/self/task");

  private final Map<String, Long> ticksByKind;

  private ThreadCpu(Map<String, Long> ticksByKind) {
    this.ticksByKind = ticksByKind;
  }

  /** A snapshot; empty where {@code /proc} is not there. */
  static ThreadCpu now() {
    Map<String, Long> ticks = new HashMap<>();
    try (Stream<Path> tasks = Files.list(TASKS)) {
      for (Path task : (Iterable<Path>) tasks::iterator) {
        try {
          String name = Files.readString(task.resolve("comm")).strip();
          String stat = Files.readString(task.resolve("stat"));
          // Fields after the ")" that closes the name: state is 3rd, utime 14th, stime 15th.
          String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
          long used = Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
          ticks.merge(kind(name), used, Long::sum);
        } catch (IOException | RuntimeException threadEnded) {
          // The thread ended between list and read.
        }
      }
    } catch (IOException e) {
      return new ThreadCpu(Map.of());
    }
    return new ThreadCpu(ticks);
  }

  /** Lines like "  41.0% grpc-nio-worker-ELG" of the CPU spent since {@code before}. */
  List<String> since(ThreadCpu before, String title) {
    Map<String, Long> delta = new HashMap<>();
    ticksByKind.forEach(
        (kind, t) -> delta.put(kind, t - before.ticksByKind.getOrDefault(kind, 0L)));
    long total = Math.max(1, delta.values().stream().mapToLong(Long::longValue).sum());
    List<String> lines = new ArrayList<>();
    // USER_HZ: 100 ticks a second on Linux.
    lines.add(title + ": " + total * 10 + " ms CPU in this JVM, by thread");
    delta.entrySet().stream()
        .filter(e -> e.getValue() > 0)
        .sorted(Map.Entry.<String, Long>comparingByValue().reversed())
        .limit(12)
        .forEach(e -> lines.add(String.format(Locale.ROOT, "  %5.1f%% %s",
            100.0 * e.getValue() / total, e.getKey())));
    return lines;
  }

  /** "grpc-nio-worker-ELG-3-2" and "grpc-nio-worker-ELG-3-1" are one kind. */
  private static String kind(String threadName) {
    return threadName.replaceAll("[-#0-9 ]+$", "").replaceAll("-[0-9]+-", "-");
  }
}
