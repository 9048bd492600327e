package io.perishable.bench;

import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.function.Function;

/**
 * CPU time that Envoy and this JVM spent on one side's runs, to divide by the requests those
 * runs completed: CPU per request, the cost a busy gateway actually pays.
 */
final class CpuTally {
  private final BenchStack stack;
  private final Function<BenchStack.CpuTimes, Duration> envoy;
  private long envoyNanos;
  private long jvmNanos;
  private long requests;

  /** @param envoy which Envoy this side's requests go through */
  CpuTally(BenchStack stack, Function<BenchStack.CpuTimes, Duration> envoy) {
    this.stack = stack;
    this.envoy = envoy;
  }

  LoadResult measure(Callable<LoadResult> run) throws Exception {
    BenchStack.CpuTimes before = stack.cpuTimes();
    LoadResult result = run.call();
    BenchStack.CpuTimes after = stack.cpuTimes();
    envoyNanos += envoy.apply(after).minus(envoy.apply(before)).toNanos();
    jvmNanos += after.jvm().minus(before.jvm()).toNanos();
    requests += result.requests();
    return result;
  }

  double envoyMicrosPerRequest() {
    return requests == 0 ? Double.NaN : envoyNanos / 1000.0 / requests;
  }

  double jvmMicrosPerRequest() {
    return requests == 0 ? Double.NaN : jvmNanos / 1000.0 / requests;
  }
}
