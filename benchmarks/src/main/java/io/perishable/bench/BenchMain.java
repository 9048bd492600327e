package io.perishable.bench;

import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.perishable.proto.v1.IssueRequest;
import io.perishable.bench.ResultTable.Row;
import io.perishable.bench.jmh.JmhRun;
import io.perishable.cli.stack.EnvoyBinary;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.concurrent.Callable;

/**
 * {@code bench/run}'s Java side: runs every measurement, checks each for errors, and prints one
 * table (plus the JMH scores). Exit code 0: every request succeeded; 1: some failed (the output
 * lists them); 2: the harness itself could not run.
 *
 * <pre>
 * java -jar benchmarks/target/benchmarks.jar [--smoke] [--jfr|--profile] --wrk PATH --ghz PATH
 *     [--out DIR]
 * java -jar benchmarks/target/benchmarks.jar jmh [JMH options]   (JMH's own command line)
 * java -jar benchmarks/target/benchmarks.jar stack   (the stack alone, for profiling by hand)
 * </pre>
 *
 * <p>Adding a measurement means one method here that runs it and turns its {@link LoadResult}
 * into rows.
 */
public final class BenchMain {
  /**
   * How long and how hard to run.
   *
   * @param warmup before each comparison, per side (three times as long for the first load
   *     through authz-service, whose JIT has the most to compile)
   * @param rounds the setups compared alternate this many times, {@code measure} each
   * @param connections wrk connections for the throughput comparison (the latency comparison
   *     uses one)
   * @param checkWorkers ghz workers for the Check RPC
   * @param checkConnections ghz HTTP/2 connections (Envoy opens one per worker thread: 2)
   * @param issueWorkers ghz workers for Issue (over one connection, like one issuing service)
   * @param revocations revocations timed, after a fifth as many untimed
   * @param recorder what records the JVM in the last loaded round through authz-service
   */
  record Profile(String name, boolean judge, Duration warmup, int rounds, Duration measure,
      int connections, int checkWorkers, int checkConnections, int issueWorkers,
      int revocations, int heapTokens, JmhRun.Settings jmh, Recorder recorder) {

    static Profile full() {
      return new Profile("full", true, Duration.ofSeconds(5), 5, Duration.ofSeconds(3), 16, 16,
          2, 32, 1_000, 20_000, JmhRun.Settings.full(), Recorder.NONE);
    }

    static Profile smoke() {
      return new Profile("smoke", false, Duration.ofSeconds(1), 1, Duration.ofSeconds(1), 16,
          16, 2, 32, 50, 1_000, JmhRun.Settings.smoke(), Recorder.NONE);
    }

    /** Also records the JVM during the last loaded round through authz-service. */
    Profile recordedWith(Recorder how) {
      return new Profile(name, judge, warmup, rounds, measure, connections, checkWorkers,
          checkConnections, issueWorkers, revocations, heapTokens, jmh, how);
    }

    boolean recording() {
      return recorder != Recorder.NONE;
    }
  }

  /** What records the JVM during one loaded round through authz-service, if anything. */
  enum Recorder { NONE, JFR, ASYNC_PROFILER }

  private final Profile profile;
  private final Path repoRoot;
  private final Path out;
  private final Wrk wrk;
  private final Ghz ghz;
  private final List<String> errors = new ArrayList<>();
  private final List<String> profiles = new ArrayList<>();

  BenchMain(Profile profile, Path repoRoot, Path out, Path wrkBinary, Path ghzBinary) {
    this.profile = profile;
    this.repoRoot = repoRoot;
    this.out = out;
    this.wrk = new Wrk(wrkBinary, out.resolve("wrk"));
    this.ghz = new Ghz(ghzBinary, out.resolve("ghz"));
  }

  public static void main(String[] args) throws Exception {
    if (args.length > 0 && args[0].equals("jmh")) {
      org.openjdk.jmh.Main.main(Arrays.copyOfRange(args, 1, args.length));
      return;
    }
    if (args.length > 0 && args[0].equals("stack")) {
      serveStack();
      return;
    }
    Profile profile = Profile.full();
    Path wrkBinary = null;
    Path ghzBinary = null;
    Path repoRoot = EnvoyBinary.repoRoot();
    Path out = null;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--smoke" -> profile = Profile.smoke().recordedWith(profile.recorder());
        case "--jfr" -> profile = profile.recordedWith(Recorder.JFR);
        case "--profile" -> profile = profile.recordedWith(Recorder.ASYNC_PROFILER);
        case "--wrk" -> wrkBinary = Path.of(args[++i]);
        case "--ghz" -> ghzBinary = Path.of(args[++i]);
        case "--out" -> out = Path.of(args[++i]);
        default -> {
          System.err.println("usage: benchmarks.jar [--smoke] [--jfr|--profile] --wrk PATH"
              + " --ghz PATH"
              + " [--out DIR]\n       benchmarks.jar jmh [JMH options]\n       benchmarks.jar"
              + " stack\nunknown argument: " + args[i]);
          System.exit(2);
        }
      }
    }
    if (wrkBinary == null || ghzBinary == null) {
      System.err.println("bench: --wrk and --ghz are required (bench/run installs both)");
      System.exit(2);
    }
    if (out == null) {
      out = repoRoot.resolve(".data/bench");
    }
    int code;
    try {
      code = new BenchMain(profile, repoRoot, out.toAbsolutePath(), wrkBinary, ghzBinary).run();
    } catch (Exception e) {
      System.err.println("bench: failed: " + e);
      e.printStackTrace();
      code = 2;
    }
    System.exit(code);
  }

  /**
   * Starts the {@link BenchStack}, prints where everything listens (and the token, provider
   * key and issuer secret, which are secrets of this throwaway stack) as one JSON line, and
   * serves until stdin closes or the process is stopped: for running wrk, ghz or a profiler by
   * hand.
   */
  private static void serveStack() throws Exception {
    Path data = Files.createTempDirectory("perishable-bench-stack-");
    try (BenchStack stack = BenchStack.start(EnvoyBinary.repoRoot(), data)) {
      stack.selfCheck();
      Map<String, Object> info = new LinkedHashMap<>();
      info.put("envoy_with_authz", stack.envoyUrl().toString());
      info.put("envoy_alone", stack.envoyAloneUrl().toString());
      info.put("authz", stack.authzTarget());
      info.put("empty_authz", stack.emptyAuthzTarget());
      info.put("control_plane", stack.controlPlaneTarget());
      info.put("issuer_secret", stack.issuerSecret());
      info.put("jvm_pid", ProcessHandle.current().pid());
      info.put("token", stack.request().token());
      info.put("provider_key", stack.providerKey());
      info.put("data_dir", data.toString());
      System.out.println(new com.fasterxml.jackson.databind.ObjectMapper()
          .writeValueAsString(info));
      System.out.flush();
      while (System.in.read() != -1) {
        // Serve until stdin closes.
      }
    }
  }

  /** Runs everything, prints the tables, returns the exit code. */
  int run() throws Exception {
    Files.createDirectories(out);
    Instant started = Instant.now();
    ResultTable table = new ResultTable("perishable benchmarks (" + profile.name() + ", "
        + Runtime.getRuntime().availableProcessors() + " cores, loopback, Java "
        + System.getProperty("java.version") + ")" + (profile.judge() ? ""
        : "\nsmoke mode: every run lasts about a second; figures are not judged")
        + "\nfigures are medians over " + profile.rounds() + " alternating rounds of "
        + profile.measure().toSeconds() + " s per side", profile.judge());

    List<JmhRun.Score> jmh = runJmh();
    HeapPerToken.Result heap = measureHeap();

    progress("starting the stack (fake upstream, control plane, authz-service and "
        + BenchStack.EXTRA_REPLICAS + " more replicas, empty handler, 4 Envoys)");
    try (BenchStack stack = BenchStack.start(repoRoot, out.resolve("stack"))) {
      stack.selfCheck();
      envoyRows(stack, table);
      streamRows(stack, table);
      checkRows(stack, table);
      issueRows(stack, table);
      // Its enforcement check makes every replica refuse one revoked token on purpose.
      long expectedDenials = revocationRows(stack, table);
      if (stack.denied() > expectedDenials) {
        errors.add("authz-service denied " + (stack.denied() - expectedDenials)
            + " benchmark requests (last: " + stack.lastDenial() + ")");
      }
    }
    heapRows(heap, table);

    System.out.println();
    System.out.print(table.render());
    System.out.println();
    System.out.print(jmhTable(jmh));
    System.out.println();
    if (errors.isEmpty()) {
      System.out.println("errors: none (every HTTP response 2xx, every Check allowed, no gRPC "
          + "or socket errors)");
    } else {
      System.out.println("ERRORS: " + errors.size());
      errors.forEach(e -> System.out.println("  - " + e));
    }
    profiles.forEach(System.out::println);
    System.out.println("took " + Duration.between(started, Instant.now()).toSeconds()
        + " s; raw outputs under " + out);
    return errors.isEmpty() ? 0 : 1;
  }

  /**
   * (1) Envoy alone vs Envoy with our ext_authz (the issue's row 1: ext_authz only, its access
   * log to the control plane), same body, same connections, wrk. Beside them: Envoy with
   * ext_authz calling the empty handler, the part that is ext_authz's own; and (1b) the shipped
   * production path, ext_authz plus the ext_proc usage meter (an ext_proc stream and a
   * completion record per request). CPU per request of Envoy and of this JVM for each.
   */
  private void envoyRows(BenchStack stack, ResultTable table) throws Exception {
    BenchRequest request = stack.request();
    Map<String, String> direct = BenchRequest.headersWithoutAuthz(stack.providerKey(), "openai");
    Map<String, String> withToken = request.headersWithToken();
    byte[] body = request.body();
    int c = profile.connections();
    int rounds = profile.rounds();
    Duration d = profile.measure();

    // authz-service's JVM needs longer: C2 is still compiling the gRPC, HTTP/2 and protobuf
    // paths after several seconds of load, and that CPU would be charged to the first rounds.
    progress("wrk: warming up the Envoys (" + profile.warmup().toSeconds() + " s each, "
        + profile.warmup().multipliedBy(3).toSeconds() + " s with our ext_authz)");
    wrk.run("warmup envoy alone", stack.envoyAloneUrl(), direct, body, c, profile.warmup());
    wrk.run("warmup envoy empty authz", stack.envoyEmptyAuthzUrl(), direct, body, c,
        profile.warmup());
    wrk.run("warmup envoy authz", stack.envoyUnmeteredUrl(), withToken, body, c,
        profile.warmup().multipliedBy(2));
    wrk.run("warmup envoy authz metered", stack.envoyUrl(), withToken, body, c,
        profile.warmup());
    long deniedBefore = stack.denied();

    progress("wrk: " + c + " connections, " + rounds + " rounds of " + d.toSeconds()
        + " s per setup");
    CpuTally aloneCpu = new CpuTally(stack, BenchStack.CpuTimes::envoyAlone);
    CpuTally emptyCpu = new CpuTally(stack, BenchStack.CpuTimes::envoyEmptyAuthz);
    CpuTally authzCpu = new CpuTally(stack, BenchStack.CpuTimes::envoyUnmetered);
    CpuTally meteredCpu = new CpuTally(stack, BenchStack.CpuTimes::envoyWithAuthz);
    Rounds loaded = Rounds.run(rounds,
        r -> checked(aloneCpu.measure(() -> wrk.run("Envoy alone, " + c + " connections, round "
            + (r + 1), stack.envoyAloneUrl(), direct, body, c, d))),
        r -> checked(emptyCpu.measure(() -> wrk.run("Envoy + ext_authz to empty handler, " + c
            + " connections, round " + (r + 1), stack.envoyEmptyAuthzUrl(), direct, body, c,
            d))),
        r -> {
          Callable<LoadResult> run = () -> wrk.run("Envoy + ext_authz, " + c
              + " connections, round " + (r + 1), stack.envoyUnmeteredUrl(), withToken, body, c,
              d);
          // A recording makes the JIT recompile; keep that round out of CPU per request.
          boolean recorded = profile.recording() && r == rounds - 1;
          return checked(recorded ? profiled("envoy-authz", true, run) : authzCpu.measure(run));
        },
        r -> checked(meteredCpu.measure(() -> wrk.run("Envoy + ext_authz + ext_proc, " + c
            + " connections, round " + (r + 1), stack.envoyUrl(), withToken, body, c, d))));
    progress("wrk: 1 connection, " + rounds + " rounds of " + d.toSeconds() + " s per setup");
    Rounds single = Rounds.run(rounds,
        r -> checked(wrk.run("Envoy alone, 1 connection, round " + (r + 1),
            stack.envoyAloneUrl(), direct, body, 1, d)),
        r -> checked(wrk.run("Envoy + ext_authz to empty handler, 1 connection, round "
            + (r + 1), stack.envoyEmptyAuthzUrl(), direct, body, 1, d)),
        r -> checked(wrk.run("Envoy + ext_authz, 1 connection, round " + (r + 1),
            stack.envoyUnmeteredUrl(), withToken, body, 1, d)),
        r -> checked(wrk.run("Envoy + ext_authz + ext_proc, 1 connection, round " + (r + 1),
            stack.envoyUrl(), withToken, body, 1, d)));
    if (stack.denied() > deniedBefore) {
      errors.add("Envoy + ext_authz: authz-service denied " + (stack.denied() - deniedBefore)
          + " requests (last: " + stack.lastDenial() + ")");
    }

    final int alone = 0;
    final int empty = 1;
    final int ours = 2;
    final int metered = 3;
    double ratio = loaded.ratio(ours, alone, LoadResult::rps);
    String aloneRps = "Envoy alone " + ResultTable.format(loaded.median(alone, LoadResult::rps),
        "rps");
    table.addJudged("1", "throughput, Envoy + ext_authz, " + c + " conns (wrk, 2 KB chat)",
        aloneRps, ResultTable.format(loaded.median(ours, LoadResult::rps), "rps"),
        ResultTable.format(ratio, "x"), ">= 0.85x", ratio, 0.85, true, "x");
    table.add(new Row("1", "  same, ext_authz calling the empty handler", aloneRps,
        "(empty) " + ResultTable.format(loaded.median(empty, LoadResult::rps), "rps"),
        ResultTable.format(loaded.ratio(empty, alone, LoadResult::rps), "x"), "",
        ResultTable.Verdict.INFO, "ext_authz's own cost: the ceiling here"));
    table.add(new Row("1b", "  same, + ext_proc usage meter (production path)", aloneRps,
        "(metered) " + ResultTable.format(loaded.median(metered, LoadResult::rps), "rps"),
        ResultTable.format(loaded.ratio(metered, alone, LoadResult::rps), "x"), "",
        ResultTable.Verdict.INFO, "+ completion records"));
    table.add(new Row("1", "p50 / p99, " + c + " connections",
        pair(loaded.median(alone, LoadResult::p50Micros),
            loaded.median(alone, LoadResult::p99Micros)),
        pair(loaded.median(ours, LoadResult::p50Micros),
            loaded.median(ours, LoadResult::p99Micros)),
        ResultTable.added(loaded.added(ours, alone, LoadResult::p50Micros)) + " / "
            + ResultTable.added(loaded.added(ours, alone, LoadResult::p99Micros)),
        "", ResultTable.Verdict.INFO, "queueing included"));
    cpuRows(table, "1", "CPU per request: Envoy / JVM", aloneCpu, authzCpu);
    cpuRows(table, "1", "  same, ext_authz calling the empty handler", aloneCpu, emptyCpu);
    cpuRows(table, "1b", "  same, + ext_proc usage meter", aloneCpu, meteredCpu);
    double addedP50 = single.added(ours, alone, LoadResult::p50Micros);
    double addedP99 = single.added(ours, alone, LoadResult::p99Micros);
    table.addJudged("1", "added p50, 1 connection (no queueing)",
        ResultTable.latency(single.median(alone, LoadResult::p50Micros)),
        ResultTable.latency(single.median(ours, LoadResult::p50Micros)),
        ResultTable.added(addedP50), "<= +150 us", addedP50, 150, false, "us");
    table.addJudged("1", "added p99, 1 connection",
        ResultTable.latency(single.median(alone, LoadResult::p99Micros)),
        ResultTable.latency(single.median(ours, LoadResult::p99Micros)),
        ResultTable.added(addedP99), "<= +1 ms", addedP99, 1000, false, "us");
    addedRow(table, "1", "  added p50 / p99, ext_authz calling the empty handler", single,
        alone, empty, "ext_authz's own cost");
    addedRow(table, "1b", "  added p50 / p99, + ext_proc usage meter", single, alone, metered,
        "production path");
  }

  /**
   * CPU per request of Envoy and of this JVM (authz-service, the control plane and its audit
   * log, the fake upstream) for {@code side}, against Envoy alone; from /proc, over every round.
   */
  private static void cpuRows(ResultTable table, String section, String what, CpuTally alone,
      CpuTally side) {
    table.add(new Row(section, what,
        pair(alone.envoyMicrosPerRequest(), alone.jvmMicrosPerRequest()),
        pair(side.envoyMicrosPerRequest(), side.jvmMicrosPerRequest()),
        ResultTable.added(side.envoyMicrosPerRequest() - alone.envoyMicrosPerRequest()) + " / "
            + ResultTable.added(side.jvmMicrosPerRequest() - alone.jvmMicrosPerRequest()),
        "", ResultTable.Verdict.INFO, "added CPU: the figure that transfers"));
  }

  private static void addedRow(ResultTable table, String section, String what, Rounds single,
      int alone, int side, String note) {
    table.add(new Row(section, what,
        pair(single.median(alone, LoadResult::p50Micros),
            single.median(alone, LoadResult::p99Micros)),
        pair(single.median(side, LoadResult::p50Micros),
            single.median(side, LoadResult::p99Micros)),
        ResultTable.added(single.added(side, alone, LoadResult::p50Micros)) + " / "
            + ResultTable.added(single.added(side, alone, LoadResult::p99Micros)),
        "", ResultTable.Verdict.INFO, note));
  }

  /**
   * (6) A streamed (SSE) chat completion through Envoy + ext_authz with the ext_proc filter
   * (usage metering: every response chunk streamed to authz-service, which reads the usage,
   * hashes the body and records a completion) vs the same Envoy config without it. Same token,
   * body, connections; wrk times each request until the stream's last byte.
   */
  private void streamRows(BenchStack stack, ResultTable table) throws Exception {
    BenchRequest request = stack.request();
    Map<String, String> headers = request.headersWithToken();
    byte[] body = request.streamedBody();
    int c = profile.connections();
    int rounds = profile.rounds();
    Duration d = profile.measure();

    progress("wrk: streamed responses, warming up both Envoys (" + profile.warmup().toSeconds()
        + " s each)");
    wrk.run("warmup stream unmetered", stack.envoyUnmeteredUrl(), headers, body, c,
        profile.warmup());
    wrk.run("warmup stream metered", stack.envoyUrl(), headers, body, c, profile.warmup());
    long deniedBefore = stack.denied();

    progress("wrk: streamed responses, " + c + " connections and 1, " + rounds + " rounds of "
        + d.toSeconds() + " s per setup");
    CpuTally unmeteredCpu = new CpuTally(stack, BenchStack.CpuTimes::envoyUnmetered);
    CpuTally meteredCpu = new CpuTally(stack, BenchStack.CpuTimes::envoyWithAuthz);
    Rounds loaded = Rounds.run(rounds,
        r -> checked(unmeteredCpu.measure(() -> wrk.run("Stream, Envoy + ext_authz without "
            + "ext_proc, " + c + " connections, round " + (r + 1), stack.envoyUnmeteredUrl(),
            headers, body, c, d))),
        r -> checked(meteredCpu.measure(() -> wrk.run("Stream, Envoy + ext_authz + ext_proc, "
            + c + " connections, round " + (r + 1), stack.envoyUrl(), headers, body, c, d))));
    Rounds single = Rounds.run(rounds,
        r -> checked(wrk.run("Stream, Envoy + ext_authz without ext_proc, 1 connection, round "
            + (r + 1), stack.envoyUnmeteredUrl(), headers, body, 1, d)),
        r -> checked(wrk.run("Stream, Envoy + ext_authz + ext_proc, 1 connection, round "
            + (r + 1), stack.envoyUrl(), headers, body, 1, d)));
    if (stack.denied() > deniedBefore) {
      errors.add("streamed: authz-service denied " + (stack.denied() - deniedBefore)
          + " requests (last: " + stack.lastDenial() + ")");
    }

    table.add(new Row("6", "streamed (SSE) rps, with / without ext_proc (" + c + " conns)",
        ResultTable.format(loaded.median(0, LoadResult::rps), "rps"),
        ResultTable.format(loaded.median(1, LoadResult::rps), "rps"),
        ResultTable.format(loaded.ratio(1, 0, LoadResult::rps), "x"), "",
        ResultTable.Verdict.INFO, "usage metering's cost"));
    table.add(new Row("6", "streamed p50 / p99, " + c + " connections",
        pair(loaded.median(0, LoadResult::p50Micros), loaded.median(0, LoadResult::p99Micros)),
        pair(loaded.median(1, LoadResult::p50Micros), loaded.median(1, LoadResult::p99Micros)),
        ResultTable.added(loaded.added(1, 0, LoadResult::p50Micros)) + " / "
            + ResultTable.added(loaded.added(1, 0, LoadResult::p99Micros)),
        "", ResultTable.Verdict.INFO, "queueing included"));
    table.add(new Row("6", "streamed added p50 / p99, 1 connection",
        pair(single.median(0, LoadResult::p50Micros), single.median(0, LoadResult::p99Micros)),
        pair(single.median(1, LoadResult::p50Micros), single.median(1, LoadResult::p99Micros)),
        ResultTable.added(single.added(1, 0, LoadResult::p50Micros)) + " / "
            + ResultTable.added(single.added(1, 0, LoadResult::p99Micros)),
        "", ResultTable.Verdict.INFO, "to the stream's last byte"));
    table.add(new Row("6", "streamed CPU per request: Envoy / JVM",
        pair(unmeteredCpu.envoyMicrosPerRequest(), unmeteredCpu.jvmMicrosPerRequest()),
        pair(meteredCpu.envoyMicrosPerRequest(), meteredCpu.jvmMicrosPerRequest()),
        ResultTable.added(meteredCpu.envoyMicrosPerRequest()
            - unmeteredCpu.envoyMicrosPerRequest()) + " / "
            + ResultTable.added(meteredCpu.jvmMicrosPerRequest()
            - unmeteredCpu.jvmMicrosPerRequest()),
        "", ResultTable.Verdict.INFO, "JVM: authz-service, audit, fake upstream"));
  }

  /** (2) The Check RPC alone vs an empty handler, ghz at saturation and at half of it. */
  private void checkRows(BenchStack stack, ResultTable table) throws Exception {
    CheckRequest request = stack.request().checkRequest();
    Ghz.Call call = ghz.prepare("check", "envoy.service.auth.v3.Authorization.Check",
        CheckRequest.getDescriptor().getFile(), request, Map.of());
    int w = profile.checkWorkers();
    int k = profile.checkConnections();
    int rounds = profile.rounds();
    Duration d = profile.measure();
    long deniedBefore = stack.denied();

    progress("ghz: warming up both Check servers");
    LoadResult authzWarm = ghz.runFor("warmup check authz", call, stack.authzTarget(), w, k,
        profile.warmup(), OptionalDouble.empty());
    LoadResult emptyWarm = ghz.runFor("warmup check empty", call, stack.emptyAuthzTarget(), w,
        k, profile.warmup(), OptionalDouble.empty());
    // Fixed call counts (ghz fails calls still in flight when a timed run ends), sized from
    // the warm-up's rate to last about d.
    progress("ghz: saturation, " + w + " workers over " + k + " connections, " + rounds
        + " rounds");
    String unreported = stack.replicaWithoutReportsTarget();
    LoadResult unreportedWarm = ghz.runFor("warmup check unreported", call, unreported, w, k,
        profile.warmup(), OptionalDouble.empty());
    Rounds saturated = Rounds.run(rounds,
        r -> checked(ghz.runCount("Check, empty handler, saturation, round " + (r + 1), call,
            stack.emptyAuthzTarget(), w, k, calls(emptyWarm.rps(), d), d,
            OptionalDouble.empty())),
        r -> checked(profiled("check-authz", r == rounds - 1, () -> ghz.runCount(
            "Check, authz-service, saturation, round " + (r + 1), call, stack.authzTarget(), w,
            k, calls(authzWarm.rps(), d), d, OptionalDouble.empty()))),
        r -> checked(ghz.runCount("Check, replica without decision reports, saturation, round "
            + (r + 1), call, unreported, w, k, calls(unreportedWarm.rps(), d), d,
            OptionalDouble.empty())));
    double half = saturated.median(1, LoadResult::rps) / 2;
    progress("ghz: " + Math.round(half) + " rps (half of authz-service's saturation)");
    Rounds halfRate = Rounds.run(rounds,
        r -> checked(ghz.runCount("Check, empty handler, half rate, round " + (r + 1), call,
            stack.emptyAuthzTarget(), w, k, calls(half, d), d, OptionalDouble.of(half))),
        r -> checked(ghz.runCount("Check, authz-service, half rate, round " + (r + 1), call,
            stack.authzTarget(), w, k, calls(half, d), d, OptionalDouble.of(half))));
    if (stack.denied() > deniedBefore) {
      errors.add("Check: authz-service denied " + (stack.denied() - deniedBefore)
          + " Checks (last: " + stack.lastDenial() + ")");
    }

    double ratio = saturated.ratio(1, 0, LoadResult::rps);
    table.addJudged("2", "Check rps at saturation (ghz, " + w + " workers, " + k + " conns)",
        "empty handler " + ResultTable.format(saturated.median(0, LoadResult::rps), "rps"),
        ResultTable.format(saturated.median(1, LoadResult::rps), "rps"),
        ResultTable.format(ratio, "x"), ">= 0.7x", ratio, 0.7, true, "x");
    table.add(new Row("2", "  same, a replica without decision reports",
        "empty handler " + ResultTable.format(saturated.median(0, LoadResult::rps), "rps"),
        ResultTable.format(saturated.median(2, LoadResult::rps), "rps"),
        ResultTable.format(saturated.ratio(2, 0, LoadResult::rps), "x"), "",
        ResultTable.Verdict.INFO, "the audit trail's share"));
    table.add(new Row("2", "Check p50 / p99 at saturation",
        pair(saturated.median(0, LoadResult::p50Micros),
            saturated.median(0, LoadResult::p99Micros)),
        pair(saturated.median(1, LoadResult::p50Micros),
            saturated.median(1, LoadResult::p99Micros)),
        ResultTable.added(saturated.added(1, 0, LoadResult::p50Micros)) + " / "
            + ResultTable.added(saturated.added(1, 0, LoadResult::p99Micros)),
        "", ResultTable.Verdict.INFO, "queueing included"));
    table.add(new Row("2", "Check p50 / p99 at " + ResultTable.format(half, "rps") + " (half)",
        pair(halfRate.median(0, LoadResult::p50Micros), halfRate.median(0, LoadResult::p99Micros)),
        pair(halfRate.median(1, LoadResult::p50Micros),
            halfRate.median(1, LoadResult::p99Micros)),
        ResultTable.added(halfRate.added(1, 0, LoadResult::p50Micros)) + " / "
            + ResultTable.added(halfRate.added(1, 0, LoadResult::p99Micros)),
        "", ResultTable.Verdict.INFO,
        "achieved " + ResultTable.format(halfRate.median(1, LoadResult::rps), "rps")));
  }

  /**
   * (3) Issue through ghz with the issuer secret, at saturation: every call writes and fsyncs
   * its audit record before it answers (group commit), so this is the durable rate. With
   * {@code --jfr} or {@code --profile} the last round is recorded.
   */
  private void issueRows(BenchStack stack, ResultTable table) throws Exception {
    IssueRequest request = BenchStack.issueRequest(600);
    Ghz.Call call = ghz.prepare("issue", "perishable.v1.TokenService.Issue",
        IssueRequest.getDescriptor().getFile(), request,
        Map.of("authorization", "Bearer " + stack.issuerSecret()));
    int w = profile.issueWorkers();
    Duration d = profile.measure();
    progress("ghz: Issue, " + w + " workers, warming up");
    LoadResult warm = ghz.runFor("warmup issue", call, stack.controlPlaneTarget(), w, 1,
        profile.warmup(), OptionalDouble.empty());
    progress("ghz: Issue, " + profile.rounds() + " rounds");
    int rounds = profile.rounds();
    Rounds issued = Rounds.run(rounds,
        r -> checked(profiled("issue", r == rounds - 1, () -> ghz.runCount(
            "Issue, " + w + " workers, round " + (r + 1), call, stack.controlPlaneTarget(), w, 1,
            calls(warm.rps(), d), d, OptionalDouble.empty()))));
    double rps = issued.median(0, LoadResult::rps);
    double p99 = issued.median(0, LoadResult::p99Micros);
    table.addJudged("3", "Issue rps, durable audit (ghz, " + w + " workers, 1 conn)", "-",
        ResultTable.format(rps, "rps"), "", ">= 10k/s", rps, 10_000, true, "rps");
    table.addJudged("3", "Issue p50 / p99 at that rate", "-",
        pair(issued.median(0, LoadResult::p50Micros), p99), "", "p99 <= 5 ms", p99, 5_000,
        false, "us");
  }

  /**
   * (4) Revoke until every replica has applied and acked the rule, one revocation at a time;
   * then every replica must refuse the last revoked token. Returns the denials that check
   * caused (one per replica), which are not errors.
   */
  private long revocationRows(BenchStack stack, ResultTable table) {
    List<String> replicas = stack.replicaTargets();
    progress("revocation: " + profile.revocations() + " revocations, " + replicas.size()
        + " replicas");
    LoadResult result = checked(RevocationLatency.measure(stack.operator(), replicas,
        Math.max(10, profile.revocations() / 5), profile.revocations()));
    table.add(new Row("4", "Revoke -> enforced at all " + replicas.size() + " replicas, p50",
        "-", ResultTable.latency(result.p50Micros()), "", "", ResultTable.Verdict.INFO,
        result.requests() + " revocations, one at a time"));
    table.addJudged("4", "Revoke -> enforced at all " + replicas.size() + " replicas, p99",
        "-", ResultTable.latency(result.p99Micros()), "", "p99 <= 10 ms", result.p99Micros(),
        10_000, false, "us");
    return replicas.size();
  }

  /** (5) Heap per cached token, measured in a JVM of its own with the serial collector. */
  private HeapPerToken.Result measureHeap() throws IOException, InterruptedException {
    progress("heap: filling a token cache with " + profile.heapTokens() + " tokens");
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    String output = Tools.run(List.of(java, "-XX:+UseSerialGC", "-Xmx1g", "-cp",
            System.getProperty("java.class.path"), HeapPerToken.class.getName(),
            Integer.toString(profile.heapTokens())), Duration.ofMinutes(3),
        out.resolve("heap.out"));
    String[] fields = output.strip().lines().reduce((a, b) -> b).orElse("").split(" ");
    HeapPerToken.Result result = new HeapPerToken.Result(Integer.parseInt(fields[0]),
        Long.parseLong(fields[1]), Double.parseDouble(fields[2]), Integer.parseInt(fields[3]),
        Double.parseDouble(fields[4]), Double.parseDouble(fields[5]));
    if (result.rejected() > 0 || result.cached() != result.tokens()) {
      errors.add("heap: " + result.rejected() + " tokens rejected, " + result.cached() + " of "
          + result.tokens() + " cached");
    }
    return result;
  }

  private void heapRows(HeapPerToken.Result heap, ResultTable table) {
    table.addJudged("5", "heap per cached live token (" + heap.cached()
            + " tokens, full cache)", "-", ResultTable.format(heap.bytesPerToken(), "B"), "",
        "<= 300 B", heap.bytesPerToken(), 300, false, "B");
    table.add(new Row("5", "  same, every token with an agent of its own", "-",
        ResultTable.format(heap.bytesPerTokenOwnAgent(), "B"), "", "", ResultTable.Verdict.INFO,
        "nothing shared"));
    table.add(new Row("5", "heap per revocation (" + heap.tokens() + " token-id rules)", "-",
        ResultTable.format(heap.bytesPerRevocation(), "B"), "", "-", ResultTable.Verdict.INFO,
        ""));
  }

  private List<JmhRun.Score> runJmh() throws Exception {
    progress("jmh: " + profile.jmh().describe() + " (log: " + out.resolve("jmh.log") + ")");
    try (OutputStream file = Files.newOutputStream(out.resolve("jmh.log"));
        PrintStream log = new PrintStream(file, true, StandardCharsets.UTF_8)) {
      return JmhRun.run(profile.jmh(), log);
    }
  }

  private String jmhTable(List<JmhRun.Score> scores) {
    StringBuilder text = new StringBuilder("JMH micro-benchmarks (" + profile.jmh().describe()
        + ")\n");
    int width = scores.stream().mapToInt(s -> label(s).length()).max().orElse(10);
    for (JmhRun.Score s : scores) {
      text.append(String.format(Locale.ROOT, "  %-" + width + "s  %10.3f +- %-8.3f %s",
          label(s), s.score(), Double.isNaN(s.error()) ? 0.0 : s.error(), s.unit()));
      if (s.params().startsWith("bodyBytes=") && s.unit().equals("us/op")) {
        double bytes = Double.parseDouble(s.params().substring("bodyBytes=".length()));
        text.append(String.format(Locale.ROOT, "  (%.0f MB/s)", bytes / s.score()));
      }
      text.append('\n');
    }
    return text.toString();
  }

  private static String label(JmhRun.Score s) {
    return s.benchmark() + (s.params().isEmpty() ? "" : " [" + s.params() + "]");
  }

  /**
   * Runs {@code load}, recorded if {@code --jfr} or {@code --profile} was given and {@code
   * record}; this JVM's CPU by thread and the hottest frames go to the output.
   */
  private LoadResult profiled(String name, boolean record,
      Callable<LoadResult> load) throws Exception {
    if (!profile.recording() || !record) {
      return load.call();
    }
    ThreadCpu before = ThreadCpu.now();
    LoadResult result;
    if (profile.recorder() == Recorder.ASYNC_PROFILER) {
      Path file = out.resolve(name + ".collapsed");
      result = CpuProfile.record(file, load);
      profiles.addAll(ThreadCpu.now().since(before, "\"" + result.label() + "\""));
      profiles.add("async-profiler during \"" + result.label() + "\" (this JVM, " + file
          + "):");
      profiles.addAll(CpuProfile.summarize(file, 15));
    } else {
      Path file = out.resolve(name + ".jfr");
      result = HotFrames.record(file, load);
      profiles.addAll(ThreadCpu.now().since(before, "\"" + result.label() + "\""));
      profiles.add("JFR during \"" + result.label() + "\" (this JVM):");
      profiles.addAll(HotFrames.summarize(file, 15));
    }
    return result;
  }

  private static long calls(double rps, Duration duration) {
    return Math.max(500, Math.round(rps * duration.toMillis() / 1000.0));
  }

  private LoadResult checked(LoadResult result) {
    if (!result.clean()) {
      errors.add(result.problem());
    }
    return result;
  }

  private static String pair(double p50, double p99) {
    return ResultTable.latency(p50) + " / " + ResultTable.latency(p99);
  }

  private static void progress(String message) {
    System.err.println("bench: " + message);
  }
}
