package io.perishable.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;
import one.profiler.AsyncProfiler;

/**
 * {@code bench/run --profile}: samples this JVM (authz-service, control plane and its audit
 * log, fake upstream) with async-profiler while one load runs, native and kernel frames
 * included, and without JFR's safepoint bias. Writes the samples as collapsed stacks (one line
 * per stack, thread first: the input of flame-graph tools) and summarises them: CPU by thread,
 * the hottest frames by self time, and perishable's own frames by inclusive time.
 */
final class CpuProfile {
  private static final Pattern THREAD_NUMBER = Pattern.compile("\\d+");

  private CpuProfile() {}

  /** Runs {@code load} while sampling CPU every millisecond; samples go to {@code file}. */
  static <T> T record(Path file, Callable<T> load) throws Exception {
    AsyncProfiler profiler = AsyncProfiler.getInstance();
    try {
      profiler.execute("start,event=cpu,interval=1ms,threads");
    } catch (IllegalStateException e) {
      // perf_events refused (a container, perf_event_paranoid): timer-based sampling instead.
      profiler.execute("start,event=itimer,interval=1ms,threads");
    }
    try {
      return load.call();
    } finally {
      profiler.execute("stop,file=" + file + ",collapsed");
    }
  }

  /** CPU by thread (numbers folded), then the {@code top} hottest frames, as lines. */
  static List<String> summarize(Path file, int top) throws IOException {
    Map<String, Long> threads = new HashMap<>();
    Map<String, Long> self = new HashMap<>();
    Map<String, Long> ours = new HashMap<>();
    long total = 0;
    for (String line : Files.readAllLines(file)) {
      int space = line.lastIndexOf(' ');
      if (space < 0) {
        continue;
      }
      long n = Long.parseLong(line.substring(space + 1));
      String[] frames = line.substring(0, space).split(";");
      total += n;
      threads.merge(THREAD_NUMBER.matcher(frames[0]).replaceAll("N"), n, Long::sum);
      self.merge(frames[frames.length - 1], n, Long::sum);
      Set<String> seen = new HashSet<>();
      for (String frame : frames) {
        if (frame.startsWith("io/perishable/") && seen.add(frame)) {
          ours.merge(frame, n, Long::sum);
        }
      }
    }
    List<String> lines = new ArrayList<>();
    lines.add("  " + total + " samples (1 ms of CPU each); by thread:");
    lines.addAll(ranked(threads, total, top));
    lines.add("  hottest frames, self time:");
    lines.addAll(ranked(self, total, top));
    lines.add("  perishable's frames, inclusive time:");
    lines.addAll(ranked(ours, total, top));
    return lines;
  }

  private static List<String> ranked(Map<String, Long> counts, long total, int top) {
    return counts.entrySet().stream()
        .sorted(Map.Entry.<String, Long>comparingByValue().reversed())
        .limit(top)
        .map(e -> String.format(Locale.ROOT, "    %5.1f%%  %s", 100.0 * e.getValue() / total,
            e.getKey()))
        .toList();
  }
}
