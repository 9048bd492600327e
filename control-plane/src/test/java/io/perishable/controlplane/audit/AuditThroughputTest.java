package io.perishable.controlplane.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Quick measurements with real fsync (printed, never asserted: timing depends on the disk):
 * appends/s with group commit when producers do not wait, and when each waits for its record
 * to be durable before the next, as Issue and Revoke do.
 */
class AuditThroughputTest {
  @TempDir
  Path dataDir;

  private final AtomicInteger forces = new AtomicInteger();

  private FileAuditLog openWithRealFsync() {
    CheckpointKeys keys = CheckpointKeys.open(dataDir, Clock.systemUTC());
    FileAuditLogConfig config = FileAuditLogConfig.defaults(dataDir.resolve("audit"))
        .withQueue(FileAuditLogConfig.DEFAULT_QUEUE_CAPACITY, Duration.ofMinutes(1));
    return FileAuditLog.open(config, keys, Clock.systemUTC(), (channel, seq) -> {
      forces.incrementAndGet();
      FileAuditLog.FSYNC.force(channel, seq);
    });
  }

  @Test
  void appendRate_producersNotWaiting() throws Exception {
    int threads = 8;
    int perThread = 25_000;
    try (FileAuditLog log = openWithRealFsync()) {
      AuditFixtures.appendEvents(log, 1, 2_000); // warm-up
      int forcesBefore = forces.get();
      ExecutorService pool = Executors.newFixedThreadPool(threads);
      long start = System.nanoTime();
      List<Future<CompletableFuture<AuditRecord>>> lasts = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int base = t * perThread;
        lasts.add(pool.submit(() -> {
          CompletableFuture<AuditRecord> last = null;
          for (int i = 1; i <= perThread; i++) {
            last = log.append(AuditFixtures.event(base + i));
          }
          return last;
        }));
      }
      for (Future<CompletableFuture<AuditRecord>> f : lasts) {
        f.get().join();
      }
      log.append(AuditFixtures.event(0)).join(); // everything before it is durable too
      double seconds = (System.nanoTime() - start) / 1e9;
      pool.shutdown();
      int n = threads * perThread;
      int batches = forces.get() - forcesBefore;
      System.out.printf("audit append (fsync group commit, %d producers not waiting): %d records"
          + " in %.2f s = %.0f records/s, %d fsyncs (%.0f records per fsync)%n",
          threads, n, seconds, n / seconds, batches, (double) n / batches);
      assertTrue(log.head().seq() >= 2_000 + n);
    }
  }

  @Test
  void appendRate_eachCallerWaitsForDurability() throws Exception {
    int threads = 64;
    int perThread = 300;
    try (FileAuditLog log = openWithRealFsync()) {
      AuditFixtures.appendEvents(log, 1, 2_000); // warm-up
      int forcesBefore = forces.get();
      ExecutorService pool = Executors.newFixedThreadPool(threads);
      long[][] latencies = new long[threads][perThread];
      long start = System.nanoTime();
      List<Future<?>> done = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int thread = t;
        done.add(pool.submit(() -> {
          for (int i = 0; i < perThread; i++) {
            long t0 = System.nanoTime();
            log.append(AuditFixtures.event(thread * perThread + i)).join();
            latencies[thread][i] = System.nanoTime() - t0;
          }
        }));
      }
      for (Future<?> f : done) {
        f.get();
      }
      double seconds = (System.nanoTime() - start) / 1e9;
      pool.shutdown();
      long[] all = Arrays.stream(latencies).flatMapToLong(Arrays::stream).sorted().toArray();
      int n = all.length;
      int batches = forces.get() - forcesBefore;
      System.out.printf("audit append (fsync group commit, %d callers each awaiting its record):"
          + " %d records in %.2f s = %.0f records/s, p50 %.2f ms, p99 %.2f ms, %d fsyncs"
          + " (%.1f records per fsync)%n", threads, n, seconds, n / seconds,
          all[n / 2] / 1e6, all[(int) (n * 0.99)] / 1e6, batches, (double) n / batches);
      assertEquals(threads * perThread, n);
    }
  }
}
