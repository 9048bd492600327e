package io.perishable.bench;

import io.perishable.controlplane.audit.AuditEventType;
import io.perishable.controlplane.audit.AuditLog;
import io.perishable.controlplane.audit.AuditRecord;
import io.perishable.controlplane.audit.AuditVerifier;
import io.perishable.controlplane.audit.CheckpointKeys;
import io.perishable.controlplane.audit.FileAuditLog;
import io.perishable.controlplane.audit.FileAuditLogConfig;
import io.perishable.controlplane.journal.AuditTrail;
import io.perishable.controlplane.journal.StateReplay;
import io.perishable.controlplane.journal.StateSnapshots;
import io.perishable.controlplane.journal.StateSnapshotter;
import io.perishable.controlplane.tokens.IndexedToken;
import io.perishable.proto.v1.RevocationRule;
import io.perishable.proto.v1.TokenClaims;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;

/**
 * The audit log's own figures, on a log of the given size built in a temporary directory:
 * group-commit appends per second, offline verification rate, and the control plane's restart
 * (open and verify the log, then rebuild the state) from seq 1 versus from a state snapshot.
 * Each figure is the median of several rounds; prints a table.
 *
 * <pre>
 * java -cp benchmarks/target/benchmarks.jar io.perishable.bench.AuditRestartBench [RECORDS] [ROUNDS]
 * </pre>
 *
 * <p>The log mixes what a busy control plane writes: per issued token, about ten {@code used}
 * decisions (each with a prompt hash and the report ledger's attributes), an occasional
 * revocation, and checkpoints every 10,000 records.
 */
public final class AuditRestartBench {
  private static final long CHECKPOINT_EVERY = 10_000;
  private static final long RETENTION_MS = Duration.ofHours(1).toMillis();

  private AuditRestartBench() {}

  /** Figures of one run. */
  record Figures(long records, double appendsPerSecond, double verifiedPerSecond,
      double openMs, double fullRebuildMs, double snapshotRebuildMs, double reachCheckpointMs,
      long snapshotSeq, long recordsAfterSnapshot, long snapshotBytes) {}

  public static void main(String[] args) throws Exception {
    int records = args.length > 0 ? Integer.parseInt(args[0]) : 200_000;
    int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 5;
    Path dir = Files.createTempDirectory("perishable-audit-bench");
    try {
      print(run(dir, records, rounds), rounds);
    } finally {
      deleteTree(dir);
    }
  }

  static Figures run(Path dataDir, int records, int rounds) throws IOException {
    Clock clock = Clock.systemUTC();
    CheckpointKeys keys = CheckpointKeys.open(dataDir, clock);
    Path auditDir = dataDir.resolve("audit");
    FileAuditLogConfig config = FileAuditLogConfig.defaults(auditDir)
        .withCheckpoints(CHECKPOINT_EVERY, Duration.ofDays(1));
    StateSnapshots snapshots = new StateSnapshots(auditDir.resolve("snapshots"), keys);

    // Build the log with concurrent appends (group commit, real fsync), snapshotting as the
    // control plane does.
    long appendNanos;
    try (FileAuditLog log = FileAuditLog.open(config, keys, clock)) {
      StateSnapshotter snapshotter = new StateSnapshotter(log, snapshots,
          StateReplay.rebuild(log, snapshots).state(), 0, CHECKPOINT_EVERY, RETENTION_MS,
          new StateSnapshotter.Listener() {
            @Override
            public void written(long seq, long nanos) {}

            @Override
            public void failed(long seq, Exception e) {
              throw new IllegalStateException("snapshot failed at " + seq, e);
            }
          });
      appendNanos = append(log, clock, records);
      snapshotter.catchUp();
      // Records after the newest snapshot, as after a crash: the restart folds them.
      append(log, clock, Math.max(1, records / 50));
    }

    List<Double> verify = new ArrayList<>();
    List<Double> open = new ArrayList<>();
    List<Double> full = new ArrayList<>();
    List<Double> fromSnapshot = new ArrayList<>();
    List<Double> reach = new ArrayList<>();
    long head = 0;
    long snapshotSeq = 0;
    long after = 0;
    for (int round = 0; round < rounds; round++) {
      long t0 = System.nanoTime();
      AuditVerifier.Report report = AuditVerifier.trusting(keys.publicKeys().values())
          .withMaxUnsignedTail(CHECKPOINT_EVERY).verifyLog(auditDir);
      long t1 = System.nanoTime();
      if (!report.ok()) {
        throw new IllegalStateException("the benchmark's log does not verify: " + report);
      }
      verify.add(report.records() / ((t1 - t0) / 1e9));
      try (FileAuditLog log = FileAuditLog.open(config, keys, clock)) {
        long t2 = System.nanoTime();
        head = log.head().seq();
        StateReplay.Summary s = StateReplay.rebuild(log, null).summary();
        long t3 = System.nanoTime();
        StateReplay.Summary snap = StateReplay.rebuild(log, snapshots).summary();
        long t4 = System.nanoTime();
        if (s.records() != head || snap.fromSnapshotSeq() == 0) {
          throw new IllegalStateException("unexpected rebuild: " + s + " / " + snap);
        }
        open.add((t2 - t1) / 1e6);
        full.add((t3 - t2) / 1e6);
        fromSnapshot.add((t4 - t3) / 1e6);
        snapshotSeq = snap.fromSnapshotSeq();
        after = snap.records();
        // The part of the snapshot restart that finds the snapshot's checkpoint in the log.
        long t5 = System.nanoTime();
        try (AuditLog.Reader reader = log.readFrom(snapshotSeq)) {
          if (reader.next().seq() != snapshotSeq) {
            throw new IllegalStateException("readFrom(" + snapshotSeq + ") started elsewhere");
          }
        }
        reach.add((System.nanoTime() - t5) / 1e6);
      }
    }
    long snapshotBytes = Files.size(snapshots.files().get(0));
    return new Figures(head, records / (appendNanos / 1e9), median(verify), median(open),
        median(full), median(fromSnapshot), median(reach), snapshotSeq, after, snapshotBytes);
  }

  /** Appends built ahead of the timed part at a time, so the generator is not what is timed. */
  private static final int SLICE = 16_384;

  /**
   * {@code count} appends; returns the nanoseconds spent appending. The records are built in
   * slices ahead of time (untimed); each slice is then appended at once, so the queue stays full
   * and group commit batches, and waited for until durable (timed).
   */
  private static long append(AuditLog log, Clock clock, int count) {
    AuditTrail trail = new AuditTrail(log, nanos -> { });
    List<Runnable> slice = new ArrayList<>(SLICE);
    List<CompletableFuture<AuditRecord>> window = new ArrayList<>(SLICE);
    long nanos = 0;
    int tokens = 0;
    for (int from = 0; from < count; from += SLICE) {
      slice.clear();
      window.clear();
      for (int i = from; i < Math.min(count, from + SLICE); i++) {
        long now = clock.millis();
        if (i % 11 == 0) {
          tokens++;
          IndexedToken token = token(tokens, now);
          slice.add(() -> window.add(trail.issued(token)));
        } else if (i % 5_000 == 1) {
          RevocationRule rule = RevocationRule.newBuilder().setRuleId("rule-" + i)
              .setAgentId("agent-" + (i % 97)).setReason("bench").setCreatedAtMs(now)
              .setExpiresAtMs(now + 3_600_000).setIssuedBeforeMs(now).build();
          slice.add(() -> window.add(trail.revoked(rule, 1, "bench")));
        } else {
          AuditRecord.Builder draft = decision(tokens, i);
          slice.add(() -> window.add(log.append(draft)));
        }
      }
      long start = System.nanoTime();
      slice.forEach(Runnable::run);
      CompletableFuture.allOf(window.toArray(CompletableFuture[]::new)).join();
      nanos += System.nanoTime() - start;
    }
    return nanos;
  }

  private static IndexedToken token(int n, long nowMs) {
    return new IndexedToken(TokenClaims.newBuilder()
        .setTokenId(String.format("tok%019d", n)).setKeyId("0011223344556677")
        .setIssuedAtMs(nowMs).setExpiresAtMs(nowMs + 900_000).setAgentId("agent-" + (n % 97))
        .addScopes("llm:complete").addModels("gpt-4o-mini").setMaxTokensPerRequest(256)
        .setUpstream("openai").putLabels("team", "search").build(), "bench-issuer");
  }

  private static AuditRecord.Builder decision(int token, int i) {
    return AuditRecord.builder(AuditEventType.USED)
        .tokenId(String.format("tok%019d", token)).agentId("agent-" + (token % 97))
        .endpoint("/v1/chat/completions").method("POST").model("gpt-4o-mini")
        .promptHash(AuditRecord.hashPrompt(("{\"i\":" + i + "}")
            .getBytes(StandardCharsets.UTF_8)))
        .status(200).latencyUs(180L).requestId("req-" + i).replicaId("authz-1")
        .attribute("replica_seq", Integer.toString(i)).attribute("replica_spool", "spool-1")
        .attribute("scope", "llm:complete").attribute("upstream", "openai");
  }

  static void print(Figures f, int rounds) {
    System.out.printf(Locale.ROOT, "%nAudit log, %,d records (median of %d rounds, %d cores)%n",
        f.records(), rounds, Runtime.getRuntime().availableProcessors());
    String row = "%-52s %16s%n";
    System.out.printf(Locale.ROOT, row, "measurement", "figure");
    System.out.printf(Locale.ROOT, row, "group-commit appends (fsync), queue kept full",
        String.format(Locale.ROOT, "%,.0f /s", f.appendsPerSecond()));
    System.out.printf(Locale.ROOT, row, "offline verify (AuditVerifier.verifyLog)",
        String.format(Locale.ROOT, "%,.0f rec/s", f.verifiedPerSecond()));
    System.out.printf(Locale.ROOT, row, "restart: open + verify the log",
        String.format(Locale.ROOT, "%,.0f ms", f.openMs()));
    System.out.printf(Locale.ROOT, row, "restart: rebuild state from seq 1",
        String.format(Locale.ROOT, "%,.0f ms", f.fullRebuildMs()));
    System.out.printf(Locale.ROOT, row, String.format(Locale.ROOT,
        "restart: rebuild from snapshot at %,d + %,d rec", f.snapshotSeq(),
        f.recordsAfterSnapshot()), String.format(Locale.ROOT, "%,.0f ms",
        f.snapshotRebuildMs()));
    System.out.printf(Locale.ROOT, row, "  of which: reach its checkpoint in the log",
        String.format(Locale.ROOT, "%,.1f ms", f.reachCheckpointMs()));
    System.out.printf(Locale.ROOT, row, "rebuild (and snapshotter) cost per record",
        String.format(Locale.ROOT, "%,.2f µs", f.fullRebuildMs() * 1e3 / f.records()));
    System.out.printf(Locale.ROOT, row, "state snapshot size",
        String.format(Locale.ROOT, "%,d bytes", f.snapshotBytes()));
  }

  private static double median(List<Double> values) {
    double[] v = values.stream().mapToDouble(Double::doubleValue).toArray();
    Arrays.sort(v);
    return v[v.length / 2];
  }

  private static void deleteTree(Path dir) throws IOException {
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
