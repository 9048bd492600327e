package io.perishable.controlplane.journal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.perishable.controlplane.MutableClock;
import io.perishable.controlplane.audit.AuditEventType;
import io.perishable.controlplane.audit.AuditLog;
import io.perishable.controlplane.audit.AuditRecord;
import io.perishable.controlplane.audit.CheckpointKeys;
import io.perishable.controlplane.audit.FileAuditLog;
import io.perishable.controlplane.audit.FileAuditLogConfig;
import io.perishable.controlplane.budget.AgentBudget;
import io.perishable.controlplane.budget.AgentUsage;
import io.perishable.controlplane.budget.AgentWindow;
import io.perishable.controlplane.budget.BudgetLedger;
import io.perishable.controlplane.budget.BudgetUsage;
import io.perishable.controlplane.budget.Lease;
import io.perishable.controlplane.budget.ReturnedLease;
import io.perishable.controlplane.report.InMemoryReportLedger;
import io.perishable.controlplane.report.ReportSource;
import io.perishable.controlplane.revocation.RevocationRules;
import io.perishable.controlplane.tokens.InMemoryTokenIndex;
import io.perishable.controlplane.tokens.IndexedToken;
import io.perishable.controlplane.tokens.TokenIndex;
import io.perishable.proto.v1.RevocationRule;
import io.perishable.proto.v1.TokenClaims;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Restart from a state snapshot: the state it rebuilds equals a replay from seq 1, records after
 * the snapshot are applied, and a snapshot that is missing, damaged, forged or of another log
 * is refused in favour of an older one or a full replay.
 */
class StateSnapshotTest {
  private static final long EVERY = 50;
  /** Short, so that snapshots drop long-expired tokens and the comparison covers that. */
  private static final long RETENTION_MS = Duration.ofSeconds(10).toMillis();

  @TempDir
  Path dataDir;

  private final MutableClock clock = new MutableClock(Instant.parse("2026-11-24T12:00:00Z"));
  private final List<StateSnapshotter> snapshotters = new ArrayList<>();

  private CheckpointKeys keys() {
    return CheckpointKeys.open(dataDir, clock);
  }

  private FileAuditLog open(Path auditDir) {
    return FileAuditLog.open(FileAuditLogConfig.defaults(auditDir)
        .withCheckpoints(EVERY, Duration.ofDays(1)), keys(), clock);
  }

  private StateSnapshots snapshots(Path auditDir) {
    return new StateSnapshots(auditDir.resolve("snapshots"), keys());
  }

  private StateSnapshotter snapshotter(AuditLog log, StateSnapshots store) {
    StateReplay.Result start = StateReplay.rebuild(log, store);
    StateSnapshotter s = new StateSnapshotter(log, store, start.state(),
        start.summary().fromSnapshotSeq(), EVERY, RETENTION_MS, new StateSnapshotter.Listener() {
          @Override
          public void written(long seq, long nanos) {}

          @Override
          public void failed(long seq, Exception e) {
            throw new AssertionError("snapshot at " + seq + " failed", e);
          }
        });
    snapshotters.add(s);
    return s;
  }

  private static final Duration LEASE_TTL = Duration.ofSeconds(30);
  /** Agent 1's tokens draw from a per-day agent budget too. */
  private static final AgentBudget AGENT_1 =
      new AgentBudget("agent-1", 5_000_000, Duration.ofDays(1));

  private static IndexedToken token(int n, long issuedAtMs, long ttlMs) {
    TokenClaims.Builder c = TokenClaims.newBuilder()
        .setTokenId(String.format("tok%019d", n))
        .setKeyId("0011223344556677")
        .setIssuedAtMs(issuedAtMs)
        .setExpiresAtMs(issuedAtMs + ttlMs)
        .setAgentId("agent-" + (n % 5))
        .addScopes("llm:complete")
        .addModels("gpt-4o-mini")
        .setUpstream("openai")
        .putLabels("n", Integer.toString(n));
    if (n > 1 && n % 3 == 0) {
      c.addAncestorIds(String.format("tok%019d", 1));
    }
    if (n % 2 == 1 || n % 3 == 0) {
      c.setBudgetTokens(100_000L + n); // odd ones and token 1's children
    }
    return new IndexedToken(c.build(), "issuer-a");
  }

  private static RevocationRule agentRule(int n, long nowMs) {
    return RevocationRule.newBuilder().setRuleId("rule-" + n).setAgentId("agent-" + (n % 5))
        .setReason("looping").setCreatedAtMs(nowMs).setExpiresAtMs(nowMs + 3_600_000)
        .setIssuedBeforeMs(nowMs).build();
  }

  private static AuditRecord.Builder decision(String replica, long seq) {
    return AuditRecord.builder(AuditEventType.USED).tokenId("tok-d").replicaId(replica)
        .endpoint("/v1/chat/completions").method("POST")
        .attribute(InMemoryReportLedger.SEQ_ATTRIBUTE, Long.toString(seq))
        .attribute(InMemoryReportLedger.SPOOL_ATTRIBUTE, "spool-1");
  }

  /**
   * Token events of every kind, {@code n} rounds of them: issued (some short-lived, so some
   * expire; some with budgets, some of those children of token 1), decisions from two replicas
   * (with a gap on one), budget leases (some returned: settled or expired; some outstanding; some
   * charged to an agent window), a key announcement, expiries and revocations.
   */
  private void appendEvents(AuditLog log, int from, int count) {
    AuditTrail trail = new AuditTrail(log, nanos -> { });
    for (int n = from; n < from + count; n++) {
      long now = clock.millis();
      IndexedToken t = token(n, now, n % 4 == 0 ? 1_000 : 600_000);
      trail.issued(t).join();
      if (t.claims().getBudgetTokens() != 0) {
        AgentWindow window = n % 5 == 1 ? new AgentWindow("agent-1",
            AGENT_1.windowStartMs(now), AGENT_1.period().toMillis()) : null;
        Lease lease = new Lease("lease-" + n, t.tokenId(), "authz-" + (n % 2), 1_000 + n,
            now + LEASE_TTL.toMillis());
        trail.leased(lease, window).join();
        if (n % 3 != 2) { // the rest stay outstanding
          trail.returned(new ReturnedLease(lease, 10L * n,
              n % 3 == 0 ? ReturnedLease.SETTLED : ReturnedLease.EXPIRED, window)).join();
        }
      }
      log.append(decision("authz-a", n)).join();
      if (n % 2 == 0) {
        log.append(decision("authz-b", n * 2L)).join();
      }
      if (n % 4 == 0) {
        clock.advance(Duration.ofSeconds(2));
        trail.expired(t.claims()).join();
      }
      if (n % 10 == 7) {
        trail.revoked(agentRule(n, clock.millis()), 1, "issuer-a").join();
      }
      if (n == from) {
        log.append(AuditRecord.builder(AuditEventType.KEY_ROTATED).keyId(
            String.format("%016x", n)).attribute("event", "created")).join();
      }
      clock.advance(Duration.ofMillis(250));
    }
  }

  /** The serving state a rebuild installs, in a comparable form. */
  private record Serving(List<IndexedToken> tokens, List<RevocationRule> liveRules,
      List<String> revokedIds, List<Boolean> ledger, java.util.Set<String> keyIds,
      List<BudgetUsage> budgets, List<Lease> leases, AgentUsage agent) {}

  private Serving install(StateReplay.Result result) {
    TokenIndex index = new InMemoryTokenIndex();
    RevocationRules rules = new RevocationRules();
    InMemoryReportLedger ledger = new InMemoryReportLedger();
    BudgetLedger budgetLedger = new BudgetLedger(clock, LEASE_TTL, List.of(AGENT_1));
    result.state().installInto(index, rules, new ExpiryWatcher(index,
        new AuditTrail(null, nanos -> { }), clock), ledger, budgetLedger);
    index.forgetExpiredBefore(clock.millis() - RETENTION_MS);
    List<IndexedToken> tokens = new ArrayList<>();
    index.forEach(tokens::add);
    tokens.sort(Comparator.comparing(IndexedToken::tokenId));
    long now = clock.millis();
    List<String> revoked = new ArrayList<>();
    for (IndexedToken t : tokens) {
      if (rules.firstMatch(t.claims(), now).isPresent()) {
        revoked.add(t.tokenId());
      }
    }
    List<Boolean> recorded = new ArrayList<>();
    for (long seq = 1; seq <= 200; seq++) {
      recorded.add(ledger.isRecorded(new ReportSource("authz-a", "spool-1"), seq));
      recorded.add(ledger.isRecorded(new ReportSource("authz-b", "spool-1"), seq));
    }
    // Accounts and leases of tokens the index keeps (a snapshot drops long-expired ones).
    List<BudgetUsage> budgets = new ArrayList<>();
    for (IndexedToken t : tokens) {
      if (t.claims().getBudgetTokens() != 0) {
        budgets.add(budgetLedger.usage(t.tokenId()));
      }
    }
    List<Lease> leases = new ArrayList<>(budgetLedger.outstandingLeases());
    leases.removeIf(l -> index.get(l.tokenId()).isEmpty());
    leases.sort(Comparator.comparing(Lease::leaseId));
    return new Serving(tokens, rules.live(now), revoked, recorded, result.state().keyIds(),
        budgets, leases, budgetLedger.agentUsage("agent-1"));
  }

  @Test
  void restartFromSnapshot_rebuildsTheSameStateAsAFullReplay_andAppliesLaterRecords() {
    Path auditDir = dataDir.resolve("audit");
    long snapshotSeq;
    try (FileAuditLog log = open(auditDir)) {
      StateSnapshotter s = snapshotter(log, snapshots(auditDir));
      appendEvents(log, 1, 40);
      assertTrue(s.catchUp() > 0, "a checkpoint passed, so a snapshot was written");
      snapshotSeq = s.lastSnapshotSeq();
      appendEvents(log, 41, 7); // after the snapshot: issued, revoked (n=47), expired (n=44)
    }
    clock.advance(Duration.ofMinutes(1));

    try (FileAuditLog log = open(auditDir)) {
      StateReplay.Result fromSnapshot = StateReplay.rebuild(log, snapshots(auditDir));
      StateReplay.Result full = StateReplay.rebuild(log, null);

      assertEquals(snapshotSeq, fromSnapshot.summary().fromSnapshotSeq());
      assertEquals(log.head().seq() - snapshotSeq, fromSnapshot.summary().records());
      assertEquals(0, full.summary().fromSnapshotSeq());
      assertEquals(log.head().seq(), full.summary().records());
      Serving expected = install(full);
      assertEquals(expected, install(fromSnapshot));
      assertTrue(expected.tokens().stream().anyMatch(t -> t.tokenId().endsWith("0047")),
          "a token issued after the snapshot is indexed");
      assertTrue(expected.liveRules().stream().anyMatch(r -> r.getRuleId().equals("rule-47")),
          "the rule revoked after the snapshot is in force");
      assertTrue(expected.revokedIds().size() > 0);
      assertTrue(expected.ledger().contains(true) && expected.ledger().contains(false));
      assertTrue(expected.budgets().stream().anyMatch(u -> u.spent() > 0)
          && expected.budgets().stream().anyMatch(u -> u.leased() > 0),
          "budget accounts come back with their spend and outstanding leases");
      assertTrue(expected.leases().stream().anyMatch(l -> l.leaseId().equals("lease-47")),
          "a lease granted after the snapshot is outstanding");
      assertTrue(expected.agent().spent() > 0 && expected.agent().leased() > 0,
          "agent-1's window comes back with its spend and leases: " + expected.agent());
    }
  }

  @Test
  void noSnapshot_replaysFromSeqOne() {
    Path auditDir = dataDir.resolve("audit");
    try (FileAuditLog log = open(auditDir)) {
      appendEvents(log, 1, 20);
    }
    try (FileAuditLog log = open(auditDir)) {
      StateReplay.Result result = StateReplay.rebuild(log, snapshots(auditDir));
      assertEquals(0, result.summary().fromSnapshotSeq());
      assertEquals(log.head().seq(), result.summary().records());
      assertEquals(List.of(), result.summary().rejectedSnapshots());
    }
  }

  /** Two snapshots on disk, the log closed; returns them newest first. */
  private List<Path> twoSnapshots(Path auditDir) {
    try (FileAuditLog log = open(auditDir)) {
      StateSnapshotter s = snapshotter(log, snapshots(auditDir));
      appendEvents(log, 1, 20);
      s.catchUp();
      appendEvents(log, 21, 20);
      s.catchUp();
      appendEvents(log, 41, 3);
    }
    List<Path> files = snapshots(auditDir).files();
    assertEquals(2, files.size(), files.toString());
    return files;
  }

  @Test
  void damagedNewestSnapshot_fallsBackToTheOlderOne_withTheSameState() throws Exception {
    Path auditDir = dataDir.resolve("audit");
    List<Path> files = twoSnapshots(auditDir);
    byte[] bytes = Files.readAllBytes(files.get(0));
    bytes[bytes.length / 2] ^= 0x01;
    Files.write(files.get(0), bytes);

    try (FileAuditLog log = open(auditDir)) {
      StateReplay.Result result = StateReplay.rebuild(log, snapshots(auditDir));
      assertEquals(1, result.summary().rejectedSnapshots().size());
      assertTrue(result.summary().rejectedSnapshots().get(0).reason().contains("bad signature"),
          result.summary().rejectedSnapshots().toString());
      assertEquals(seqOf(files.get(1)), result.summary().fromSnapshotSeq());
      assertEquals(install(StateReplay.rebuild(log, null)), install(result));
    }
  }

  @Test
  void everySnapshotMissingOrTruncated_fullReplay() throws Exception {
    Path auditDir = dataDir.resolve("audit");
    List<Path> files = twoSnapshots(auditDir);
    Files.delete(files.get(0));
    byte[] bytes = Files.readAllBytes(files.get(1));
    Files.write(files.get(1), java.util.Arrays.copyOf(bytes, bytes.length - 10));

    try (FileAuditLog log = open(auditDir)) {
      StateReplay.Result result = StateReplay.rebuild(log, snapshots(auditDir));
      assertEquals(0, result.summary().fromSnapshotSeq());
      assertEquals(1, result.summary().rejectedSnapshots().size());
      assertEquals(log.head().seq(), result.summary().records());
      assertEquals(install(StateReplay.rebuild(log, null)), install(result));
    }
  }

  @Test
  void snapshotSignedByAnotherKey_refused() throws Exception {
    Path auditDir = dataDir.resolve("audit");
    List<Path> files = twoSnapshots(auditDir);
    // The state at the newest snapshot's checkpoint with every token and rule dropped,
    // signed by someone without the checkpoint key.
    CheckpointKeys forger = CheckpointKeys.open(dataDir.resolve("elsewhere"), clock);
    try (FileAuditLog log = open(auditDir)) {
      StateReplay.Result honest = StateReplay.rebuild(log, snapshots(auditDir));
      long seq = seqOf(files.get(0));
      RebuiltState forged = new RebuiltState();
      AuditRecord checkpoint = null;
      try (AuditLog.Reader reader = log.readFrom(1)) {
        while (checkpoint == null) {
          AuditRecord r = reader.next();
          forged.apply(r);
          checkpoint = r.seq() == seq ? r : null;
        }
      }
      forged.prune(Long.MAX_VALUE, Long.MAX_VALUE);
      new StateSnapshots(auditDir.resolve("snapshots"), forger).write(forged, checkpoint);

      StateReplay.Result result = StateReplay.rebuild(log, snapshots(auditDir));
      assertTrue(result.summary().rejectedSnapshots().get(0).reason().contains("bad signature"));
      assertFalse(install(result).liveRules().isEmpty());
      assertEquals(install(honest), install(result));
    }
  }

  @Test
  void snapshotOfAnotherLog_refused() throws Exception {
    Path auditDir = dataDir.resolve("audit");
    List<Path> files = twoSnapshots(auditDir);
    // Another log, same checkpoint key, at least as long: its record at that seq differs.
    Path otherDir = dataDir.resolve("other-audit");
    try (FileAuditLog other = open(otherDir)) {
      clock.advance(Duration.ofSeconds(1));
      appendEvents(other, 100, 50);
    }
    Files.createDirectories(otherDir.resolve("snapshots"));
    Files.copy(files.get(0), otherDir.resolve("snapshots").resolve(files.get(0).getFileName()));

    try (FileAuditLog log = open(otherDir)) {
      StateReplay.Result result = StateReplay.rebuild(log, snapshots(otherDir));
      assertEquals(0, result.summary().fromSnapshotSeq());
      assertTrue(result.summary().rejectedSnapshots().get(0).reason()
          .contains("is not the checkpoint"), result.summary().rejectedSnapshots().toString());
    }
  }

  @Test
  void finish_snapshotsTheFinalCheckpoint_soARestartFoldsNothing() {
    Path auditDir = dataDir.resolve("audit");
    FileAuditLog log = open(auditDir);
    StateSnapshotter s = snapshotter(log, snapshots(auditDir));
    appendEvents(log, 1, 5); // fewer records than EVERY: no snapshot yet
    assertEquals(0, s.catchUp());
    log.close();
    assertEquals(1, s.finish());
    try (FileAuditLog reopened = open(auditDir)) {
      StateReplay.Result result = StateReplay.rebuild(reopened, snapshots(auditDir));
      assertEquals(reopened.head().seq(), result.summary().fromSnapshotSeq());
      assertEquals(0, result.summary().records());
      assertEquals(install(StateReplay.rebuild(reopened, null)), install(result));
    }
  }

  @Test
  void write_keepsTheNewestTwo_andRemovesWhatACrashLeftMidWrite() throws Exception {
    Path auditDir = dataDir.resolve("audit");
    Path stale = auditDir.resolve("snapshots").resolve(String.format("snapshot-%020d.bin.tmp",
        7));
    Files.createDirectories(stale.getParent());
    Files.write(stale, new byte[] {1, 2, 3});
    try (FileAuditLog log = open(auditDir)) {
      StateSnapshotter s = snapshotter(log, snapshots(auditDir));
      appendEvents(log, 1, 45);
      assertEquals(3, s.catchUp(), "a snapshot at each of three checkpoints");
    }
    try (java.util.stream.Stream<Path> files = Files.list(auditDir.resolve("snapshots"))) {
      assertEquals(2, files.count(), "the newest two, and no temporary file");
    }
  }

  private static long seqOf(Path snapshot) {
    String name = snapshot.getFileName().toString();
    return Long.parseLong(name.substring("snapshot-".length(), name.length() - ".bin".length()));
  }
}
