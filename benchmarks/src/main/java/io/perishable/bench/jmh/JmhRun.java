package io.perishable.bench.jmh;

import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.format.OutputFormatFactory;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;
import org.openjdk.jmh.runner.options.VerboseMode;

/** Runs this package's benchmarks through JMH's API and returns their scores. */
public final class JmhRun {
  /**
   * How long to measure.
   *
   * @param forks 0 runs in this JVM (for tests: JMH warns that the figures are unreliable)
   */
  public record Settings(int forks, int warmupIterations, Duration warmupTime, int iterations,
      Duration iterationTime) {

    /** What {@code bench/run} uses: 2 forks x (2 warm-up + 3 measured) x 1 s. */
    public static Settings full() {
      return new Settings(2, 2, Duration.ofSeconds(1), 3, Duration.ofSeconds(1));
    }

    /** {@code bench/run --smoke}: one fork, one short iteration each. */
    public static Settings smoke() {
      return new Settings(1, 1, Duration.ofMillis(200), 1, Duration.ofMillis(300));
    }

    /** In the calling JVM, one short iteration: proves the benchmarks run, measures nothing. */
    public static Settings inProcess() {
      return new Settings(0, 0, Duration.ofMillis(50), 1, Duration.ofMillis(100));
    }

    /** E.g. "2 fork(s) x (2 warm-up + 3 measured) x 1000 ms". */
    public String describe() {
      return forks + " fork(s) x (" + warmupIterations + " warm-up + " + iterations
          + " measured) x " + iterationTime.toMillis() + " ms";
    }
  }

  /**
   * One benchmark's result.
   *
   * @param params JMH parameters, e.g. {@code bodyBytes=2048}; empty if none
   * @param error half-width of the 99.9% confidence interval (NaN with a single iteration)
   */
  public record Score(String benchmark, String params, double score, double error, String unit) {}

  private JmhRun() {}

  /**
   * Runs every benchmark in this package; JMH's own output goes to {@code log}.
   *
   * @throws RunnerException if a benchmark failed (its setup throws when the fixture is not
   *     allowed, so a broken fixture fails rather than measuring a denial)
   */
  public static List<Score> run(Settings settings, PrintStream log) throws RunnerException {
    Options options = new OptionsBuilder()
        .include(JmhRun.class.getPackageName() + "\\..*Benchmark")
        .forks(settings.forks())
        .warmupIterations(settings.warmupIterations())
        .warmupTime(time(settings.warmupTime()))
        .measurementIterations(settings.iterations())
        .measurementTime(time(settings.iterationTime()))
        .jvmArgsAppend("-Xmx1g")
        .shouldFailOnError(true)
        .build();
    Collection<RunResult> results = new Runner(options,
        OutputFormatFactory.createFormatInstance(log, VerboseMode.NORMAL)).run();
    List<Score> scores = new ArrayList<>();
    for (RunResult result : results) {
      String name = result.getParams().getBenchmark();
      String params = result.getParams().getParamsKeys().stream()
          .map(k -> k + "=" + result.getParams().getParam(k))
          .collect(Collectors.joining(","));
      scores.add(new Score(name.substring(name.lastIndexOf('.', name.lastIndexOf('.') - 1) + 1),
          params, result.getPrimaryResult().getScore(),
          result.getPrimaryResult().getScoreError(), result.getPrimaryResult().getScoreUnit()));
    }
    return scores;
  }

  private static TimeValue time(Duration d) {
    return new TimeValue(d.toMillis(), TimeUnit.MILLISECONDS);
  }
}
