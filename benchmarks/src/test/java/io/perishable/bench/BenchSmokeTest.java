package io.perishable.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.perishable.bench.jmh.JmhRun;
import io.perishable.cli.stack.EnvoyBinary;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Java side of {@code bench/run --smoke}, so {@code ./bin/test} keeps the harness from
 * rotting without needing wrk or ghz: the stack the load generators talk to (four Envoys, the
 * fake upstream, authz-service and the empty handler) serves the exact benchmark requests (plain
 * and streamed), only the Envoy with ext_proc meters, the
 * heap measurement caches every token, a revocation reaches every replica, and every JMH
 * benchmark runs with an allowed fixture.
 * Nothing here is timed.
 */
class BenchSmokeTest {

  @Test
  void stack_servesTheBenchmarkRequestThroughEveryEnvoyAndBothCheckServers(@TempDir Path data) {
    try (BenchStack stack = BenchStack.start(EnvoyBinary.repoRoot(), data)) {
      stack.selfCheck();

      assertEquals(0, stack.denied(), stack.lastDenial());
      // Through Envoy with ext_authz: one plain and one streamed request; one plain and one
      // streamed through the Envoy without ext_proc (rows 1, 1b, 6); one Check straight to
      // authz-service (row 2).
      assertEquals(5, stack.allowed());
    }
  }

  @Test
  void streamRow_onlyTheEnvoyWithExtProcMeters(@TempDir Path data) throws Exception {
    try (BenchStack stack = BenchStack.start(EnvoyBinary.repoRoot(), data)) {
      stack.selfCheck();

      // Metered: the plain and the streamed request through the stack's Envoy (ext_proc on);
      // never the requests through the Envoy without ext_proc, which were sent first.
      Instant deadline = Instant.now().plusSeconds(30);
      while (stack.meteredResponses() < 2 && Instant.now().isBefore(deadline)) {
        Thread.sleep(50);
      }
      assertEquals(2, stack.meteredResponses());
    }
  }

  @Test
  void revocation_everyReplicaAcksAndRefusesTheRevokedToken(@TempDir Path data) {
    try (BenchStack stack = BenchStack.start(EnvoyBinary.repoRoot(), data)) {
      LoadResult result = RevocationLatency.measure(stack.operator(), stack.replicaTargets(),
          2, 5);

      assertEquals(BenchStack.EXTRA_REPLICAS + 1, stack.replicaTargets().size());
      assertTrue(result.clean(), result.problem());
      assertEquals(5, result.requests());
      // The enforcement check: every replica refused the last revoked token.
      assertEquals(BenchStack.EXTRA_REPLICAS + 1, stack.denied(), stack.lastDenial());
    }
  }

  @Test
  void heapPerToken_cachesEveryToken() {
    HeapPerToken.Result result = HeapPerToken.measure(500);

    assertEquals(0, result.rejected());
    assertEquals(500, result.cached());
    assertFalse(Double.isNaN(result.bytesPerRevocation()));
  }

  @Test
  void jmh_everyBenchmarkRunsOnAnAllowedFixture() throws Exception {
    // JMH refuses to start while another JMH run on the machine holds /tmp/jmh.lock; this run
    // judges no figure, so a benchmark measured elsewhere at the same time must not fail it.
    System.setProperty("jmh.ignoreLock", "true");
    List<JmhRun.Score> scores =
        JmhRun.run(JmhRun.Settings.inProcess(), new PrintStream(OutputStream.nullOutputStream()));

    // Decision engine, Check handler, body inspector at 2 KB and 1 MiB, usage meter.
    assertEquals(5, scores.size(), scores.toString());
    for (JmhRun.Score score : scores) {
      assertTrue(score.score() > 0, score.toString());
    }
  }
}
