package io.perishable.bench;

import io.perishable.controlplane.audit.AuditLog;
import io.perishable.controlplane.audit.AuditRecord;
import io.perishable.controlplane.audit.ChainHash;
import io.perishable.controlplane.journal.AuditTrail;
import io.perishable.controlplane.journal.ExpiryWatcher;
import io.perishable.controlplane.tokens.InMemoryTokenIndex;
import io.perishable.controlplane.tokens.IndexedToken;
import io.perishable.proto.v1.TokenClaims;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The cost of one tick of the control plane's {@link ExpiryWatcher} (run every second) with
 * many live tokens indexed: the token index holds {@code TOKENS} tokens whose expiries are
 * spread evenly over the next hour, the clock moves one second per tick, and each tick records
 * the expiries that passed (about TOKENS / 3,600) into a log that only counts them, so the figure
 * is the watcher's and the index's, not the log's. Prints a table.
 *
 * <pre>
 * java -cp benchmarks/target/benchmarks.jar io.perishable.bench.ExpiryTickBench [TOKENS] [TICKS]
 * </pre>
 */
public final class ExpiryTickBench {
  private static final long START_MS = 1_764_028_800_000L;
  private static final long SPREAD_MS = 3_600_000;

  private ExpiryTickBench() {}

  public static void main(String[] args) {
    int tokens = args.length > 0 ? Integer.parseInt(args[0]) : 1_000_000;
    int ticks = args.length > 1 ? Integer.parseInt(args[1]) : 30;
    ManualClock clock = new ManualClock(START_MS);
    InMemoryTokenIndex index = new InMemoryTokenIndex();
    for (int i = 0; i < tokens; i++) {
      index.add(new IndexedToken(TokenClaims.newBuilder()
          .setTokenId(String.format("tok%019d", i)).setKeyId("0011223344556677")
          .setIssuedAtMs(START_MS).setExpiresAtMs(START_MS + 1 + (long) i * SPREAD_MS / tokens)
          .setAgentId("agent-" + (i % 97)).addScopes("llm:complete").build(), "bench-issuer"));
    }
    CountingLog log = new CountingLog();
    ExpiryWatcher watcher = new ExpiryWatcher(index, new AuditTrail(log, nanos -> { }), clock);
    watcher.scan(); // nothing expired yet; also warms up
    double[] idle = new double[ticks];
    for (int t = 0; t < ticks; t++) {
      long start = System.nanoTime();
      watcher.scan();
      idle[t] = (System.nanoTime() - start) / 1e6;
    }
    double[] busy = new double[ticks];
    long before = log.appends.get();
    for (int t = 0; t < ticks; t++) {
      clock.advance(1_000);
      long start = System.nanoTime();
      watcher.scan();
      busy[t] = (System.nanoTime() - start) / 1e6;
    }
    long recorded = log.appends.get() - before;
    System.out.printf(Locale.ROOT, "%nExpiry watcher, %,d live tokens, %d ticks each (%d cores)%n",
        tokens, ticks, Runtime.getRuntime().availableProcessors());
    String row = "%-52s %10s %10s%n";
    System.out.printf(Locale.ROOT, row, "tick", "median", "max");
    System.out.printf(Locale.ROOT, row, "nothing expired", ms(median(idle)), ms(max(idle)));
    System.out.printf(Locale.ROOT, row, String.format(Locale.ROOT,
        "1 s passed: %,.0f expiries recorded per tick", (double) recorded / ticks),
        ms(median(busy)), ms(max(busy)));
  }

  private static String ms(double v) {
    return String.format(Locale.ROOT, "%.3f ms", v);
  }

  private static double median(double[] v) {
    double[] s = v.clone();
    Arrays.sort(s);
    return s[s.length / 2];
  }

  private static double max(double[] v) {
    return Arrays.stream(v).max().orElse(0);
  }

  /** Time moves only when the benchmark says so. */
  private static final class ManualClock extends Clock {
    private final AtomicLong millis;

    ManualClock(long startMs) {
      this.millis = new AtomicLong(startMs);
    }

    void advance(long ms) {
      millis.addAndGet(ms);
    }

    @Override
    public long millis() {
      return millis.get();
    }

    @Override
    public Instant instant() {
      return Instant.ofEpochMilli(millis.get());
    }

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      throw new UnsupportedOperationException();
    }
  }

  /** A log that counts appends and keeps nothing: the watcher's cost alone. */
  private static final class CountingLog implements AuditLog {
    final AtomicLong appends = new AtomicLong();

    @Override
    public CompletableFuture<AuditRecord> append(AuditRecord.Builder draft) {
      appends.incrementAndGet();
      return CompletableFuture.completedFuture(null);
    }

    @Override
    public CompletableFuture<AuditRecord> checkpoint() {
      throw new UnsupportedOperationException("not used");
    }

    @Override
    public Head head() {
      return new Head(appends.get(), ChainHash.GENESIS);
    }

    @Override
    public Reader readFrom(long seq) {
      throw new UnsupportedOperationException("not used");
    }

    @Override
    public void close() {}
  }
}
