package io.perishable.bench;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import jdk.jfr.Configuration;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordingFile;

/**
 * {@code bench/run --jfr}: records this JVM (authz-service, control plane, fake upstream) with
 * Java Flight Recorder's "profile" settings while one load runs, and summarises where the CPU
 * samples fell: the hottest methods by self time, and the share of samples with a given
 * package anywhere on the stack. Starting a recording re-instruments a few JDK classes, so the
 * JIT compilers are busier in the recorded round than in the others; the table's medians over
 * all rounds are not swayed by one.
 */
final class HotFrames {
  private HotFrames() {}

  /** Runs {@code load} under a recording written to {@code file}. */
  static <T> T record(Path file, Callable<T> load) throws Exception {
    try (Recording recording = new Recording(Configuration.getConfiguration("profile"))) {
      recording.setToDisk(true);
      recording.setDestination(file);
      recording.start();
      try {
        return load.call();
      } finally {
        recording.stop();
      }
    }
  }

  /** The top {@code n} methods by self samples, and inclusive shares of a few packages. */
  static List<String> summarize(Path file, int n) throws IOException {
    Map<String, Integer> self = new HashMap<>();
    Map<String, Integer> inclusive = new HashMap<>();
    List<String> prefixes = List.of("io.perishable.authz.", "io.perishable.fakellm.",
        "io.grpc.", "io.netty.", "com.google.protobuf.", "com.github.benmanes.caffeine.",
        "com.fasterxml.jackson.", "java.util.logging.");
    int samples = 0;
    for (RecordedEvent event : RecordingFile.readAllEvents(file)) {
      if (!event.getEventType().getName().equals("jdk.ExecutionSample")
          || event.getStackTrace() == null || event.getStackTrace().getFrames().isEmpty()) {
        continue;
      }
      samples++;
      List<RecordedFrame> frames = event.getStackTrace().getFrames();
      self.merge(name(frames.get(0)), 1, Integer::sum);
      Set<String> seen = new HashSet<>();
      for (RecordedFrame frame : frames) {
        String type = frame.getMethod().getType().getName();
        for (String prefix : prefixes) {
          if (type.startsWith(prefix) && seen.add(prefix)) {
            inclusive.merge(prefix, 1, Integer::sum);
          }
        }
      }
    }
    List<String> lines = new ArrayList<>();
    lines.add(samples + " CPU samples in " + file.getFileName());
    int total = Math.max(1, samples);
    self.entrySet().stream()
        .sorted(Map.Entry.<String, Integer>comparingByValue().reversed())
        .limit(n)
        .forEach(e -> lines.add(String.format(Locale.ROOT, "  %5.1f%% self  %s",
            100.0 * e.getValue() / total, e.getKey())));
    inclusive.entrySet().stream()
        .sorted(Map.Entry.<String, Integer>comparingByValue().reversed())
        .forEach(e -> lines.add(String.format(Locale.ROOT,
            "  %5.1f%% of samples have %s* on the stack", 100.0 * e.getValue() / total,
            e.getKey())));
    return lines;
  }

  private static String name(RecordedFrame frame) {
    return frame.getMethod().getType().getName() + "." + frame.getMethod().getName();
  }
}
