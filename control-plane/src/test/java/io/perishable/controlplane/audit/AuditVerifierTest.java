package io.perishable.controlplane.audit;

import static io.perishable.controlplane.audit.AuditFixtures.drafts;
import static io.perishable.controlplane.audit.AuditFixtures.config;
import static io.perishable.controlplane.audit.AuditFixtures.flipBitInValue;
import static io.perishable.controlplane.audit.AuditFixtures.lines;
import static io.perishable.controlplane.audit.AuditFixtures.onlySegment;
import static io.perishable.controlplane.audit.AuditFixtures.rechain;
import static io.perishable.controlplane.audit.AuditFixtures.writeLines;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.perishable.controlplane.MutableClock;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Tamper tests. The chain under test: 20 events with a checkpoint after every 5, so seqs 1-5
 * events, 6 checkpoint, 7-11 events, 12 checkpoint, 13-17, 18 checkpoint, 19-23, 24 checkpoint;
 * line n holds seq n. Each tamper is applied to a JSONL export and to the log's own segment
 * file, and must be reported at the right record.
 */
class AuditVerifierTest {
  /** Where the tampering happens. */
  enum Target { EXPORT, LOG_FILE }

  @TempDir
  Path dataDir;

  private final MutableClock clock = AuditFixtures.startClock();
  private CheckpointKeys keys;
  private Path logDir;
  private List<String> original;

  @BeforeEach
  void writeTheChain() throws IOException {
    keys = CheckpointKeys.open(dataDir, clock);
    logDir = dataDir.resolve("audit");
    AuditFixtures.writeLog(logDir, keys, 20, 5);
    original = lines(onlySegment(logDir));
    assertEquals(24, original.size());
  }

  private AuditVerifier trusting() {
    return AuditVerifier.trusting(keys.publicKeys().values());
  }

  /** Writes {@code lines} to the target and verifies it; for the log file, opening must agree. */
  private AuditVerifier.Failure failureAfterTamper(Target target, List<String> lines,
      boolean finalNewline) throws IOException {
    Path file = target == Target.EXPORT ? dataDir.resolve("export.jsonl") : onlySegment(logDir);
    writeLines(file, lines);
    if (!finalNewline) {
      byte[] b = Files.readAllBytes(file);
      Files.write(file, java.util.Arrays.copyOf(b, b.length - 1));
    }
    AuditVerifier.Report report = target == Target.EXPORT
        ? trusting().verifyExport(file) : trusting().verifyLog(logDir);
    assertFalse(report.ok(), "tampering went unnoticed: " + report);
    AuditVerifier.Failure f = report.failure().orElseThrow();
    if (target == Target.LOG_FILE) {
      AuditLogCorruptedException e = assertThrows(AuditLogCorruptedException.class,
          () -> FileAuditLog.open(config(logDir), keys, clock));
      assertEquals(f.seq(), e.firstBadSeq(), e.getMessage());
      assertEquals(f.reason(), e.reason());
      assertEquals(f.line(), e.line());
    }
    return f;
  }

  private AuditVerifier.Failure failureAfterTamper(Target target, List<String> lines)
      throws IOException {
    return failureAfterTamper(target, lines, true);
  }

  private static void assertFailure(long seq, long line, String reason,
      AuditVerifier.Failure f) {
    assertEquals(reason, f.reason(), f.toString());
    assertEquals(seq, f.seq(), f.toString());
    assertEquals(line, f.line(), f.toString());
  }

  @Test
  void untouched_exportAndLog_verify() throws IOException {
    Path export = dataDir.resolve("export.jsonl");
    writeLines(export, original);
    AuditVerifier.Report report = trusting().verifyExport(export);
    assertTrue(report.ok(), report.toString());
    assertEquals(24, report.records());
    assertEquals(4, report.checkpoints());
    assertEquals(0, report.unsignedTail());
    assertTrue(trusting().verifyLog(logDir).ok());
  }

  @ParameterizedTest
  @EnumSource(Target.class)
  void flipOneBit_inARecord_hashMismatchAtThatRecord(Target target) throws IOException {
    List<String> lines = new ArrayList<>(original);
    lines.set(8, flipBitInValue(lines.get(8), "agent_id")); // seq 9
    assertFailure(9, 9, "hash mismatch", failureAfterTamper(target, lines));
  }

  @ParameterizedTest
  @EnumSource(Target.class)
  void flipOneBit_inTheSyntax_notJsonAtThatRecord(Target target) throws IOException {
    List<String> lines = new ArrayList<>(original);
    lines.set(8, lines.get(8).replaceFirst("\\{", "z")); // '{' 0x7b -> 'z' 0x7a
    assertFailure(9, 9, "not JSON", failureAfterTamper(target, lines));
  }

  @ParameterizedTest
  @EnumSource(Target.class)
  void deleteOne_seqGapAtTheMissingRecord(Target target) throws IOException {
    List<String> lines = new ArrayList<>(original);
    lines.remove(8);
    assertFailure(9, 9, "seq gap: expected 9 got 10", failureAfterTamper(target, lines));
  }

  @ParameterizedTest
  @EnumSource(Target.class)
  void insertOne_copyOfAnEarlierRecord_namedWhereItWasInserted(Target target)
      throws IOException {
    List<String> lines = new ArrayList<>(original);
    lines.add(9, original.get(2)); // a copy of seq 3 after seq 9
    assertFailure(10, 10, "seq out of order: expected 10 got 3",
        failureAfterTamper(target, lines));
  }

  @ParameterizedTest
  @EnumSource(Target.class)
  void insertOne_withFixedUpSeqsAndHashes_caughtByTheNextCheckpoint(Target target)
      throws Exception {
    List<AuditFixtures.Draft> records = drafts(original);
    // a new record after seq 9, the rest renumbered
    records.add(9, new AuditFixtures.Draft(AuditFixtures.denied(99), records.get(8).timeMs()));
    List<String> forged = rechain(records);
    // The insert is self-consistent; the checkpoint that followed seq 11 (now 13) is not.
    assertFailure(13, 13, "bad checkpoint signature", failureAfterTamper(target, forged));
  }

  @ParameterizedTest
  @EnumSource(Target.class)
  void swapTwo_seqGapAtTheFirst(Target target) throws IOException {
    List<String> lines = new ArrayList<>(original);
    lines.set(8, original.get(9));
    lines.set(9, original.get(8));
    assertFailure(9, 9, "seq gap: expected 9 got 10", failureAfterTamper(target, lines));
  }

  @ParameterizedTest
  @EnumSource(Target.class)
  void truncateTheTail_midRecord_truncatedRecord(Target target) throws IOException {
    List<String> lines = new ArrayList<>(original);
    lines.set(23, lines.get(23).substring(0, 100));
    assertFailure(24, 24, "truncated record", failureAfterTamper(target, lines, false));
  }

  @Test
  void truncateTheTail_wholeRecords_uncoveredTailOrKnownHeadCatchesIt() throws IOException {
    Path export = dataDir.resolve("export.jsonl");
    writeLines(export, original.subList(0, 21)); // seqs 22-24 gone; 19-21 now unsigned

    assertFailure(19, 19, "3 record(s) from seq 19 on are not covered by a checkpoint"
        + " signature (last checkpoint: seq 18)",
        trusting().verifyExport(export).failure().orElseThrow());
    assertFailure(22, 22, "truncated: the chain ends at seq 21, expected records through 24",
        AuditVerifier.chainOnly().expectingRecordsThrough(24).verifyExport(export)
            .failure().orElseThrow());
    // A cut right after a checkpoint leaves a valid, shorter chain: only a known head helps.
    writeLines(export, original.subList(0, 18));
    assertTrue(trusting().verifyExport(export).ok());
    assertFalse(trusting().expectingRecordsThrough(24).verifyExport(export).ok());
  }

  @ParameterizedTest
  @EnumSource(Target.class)
  void wholeFileReplaced_byAForgerWithTheirOwnKey_firstCheckpointFails(Target target)
      throws IOException {
    CheckpointKeys forgerKeys = CheckpointKeys.open(dataDir.resolve("forger"), clock);
    Path forgedDir = dataDir.resolve("forged-log");
    AuditFixtures.writeLog(forgedDir, forgerKeys, 20, 5); // a perfectly self-consistent log
    List<String> forged = lines(onlySegment(forgedDir));
    assertTrue(AuditVerifier.trusting(forgerKeys.publicKeys().values())
        .verifyLog(forgedDir).ok());

    AuditVerifier.Failure f = failureAfterTamper(target, forged);
    assertFailure(6, 6, "bad checkpoint signature: key " + forgerKeys.currentKeyId()
        + " is not trusted", f);
  }

  @ParameterizedTest
  @EnumSource(Target.class)
  void wholeFileReplaced_editedAndRechained_replayingRealSignatures_badSignature(Target target)
      throws Exception {
    List<AuditFixtures.Draft> records = drafts(original);
    records.get(8).builder().model("gpt-4o-mini"); // seq 9, then every later hash recomputed
    List<String> forged = rechain(records);
    assertTrue(AuditVerifier.chainOnly().verifyExport(writeExport(forged)).ok());

    assertFailure(12, 12, "bad checkpoint signature", failureAfterTamper(target, forged));
  }

  @Test
  void wholeFileReplaced_withoutCheckpoints_notCovered() throws Exception {
    List<AuditFixtures.Draft> records = drafts(original);
    records.removeIf(d -> d.builder().type() == AuditEventType.CHECKPOINT);
    records.get(8).builder().model("gpt-4o-mini");
    Path export = writeExport(rechain(records));

    assertTrue(AuditVerifier.chainOnly().verifyExport(export).ok(),
        "the chain alone cannot tell a forgery");
    assertFailure(1, 1, "20 record(s) from seq 1 on are not covered by a checkpoint signature"
        + " (there is no checkpoint at all)",
        trusting().verifyExport(export).failure().orElseThrow());
  }

  /**
   * A completion record whose {@code completion_hash} holds the response text, chained in with
   * correct hashes (the log refuses to write one, so it is forged by hand, as a forger would):
   * the chain holds, yet the record is named, in an export and in the log's own segment.
   */
  @ParameterizedTest
  @EnumSource(Target.class)
  void completionText_insteadOfItsHash_namedEvenWithTheChainRecomputed(Target target)
      throws IOException {
    List<String> lines = new ArrayList<>();
    ChainHash prev = ChainHash.GENESIS;
    for (int seq = 1; seq <= 3; seq++) {
      String hash = seq == 2 ? "Sure! Here is the plan: step one" : "ab".repeat(32);
      String line = forgedLine(completion("ab".repeat(32)), seq, prev, "ab".repeat(32), hash);
      lines.add(line);
      prev = ChainHash.fromHex(line.substring(line.length() - 66, line.length() - 2));
    }
    Path file = target == Target.EXPORT ? dataDir.resolve("export.jsonl") : onlySegment(logDir);
    writeLines(file, lines);
    AuditVerifier chainOnly = AuditVerifier.chainOnly();
    AuditVerifier.Report report = target == Target.EXPORT
        ? chainOnly.verifyExport(file) : chainOnly.verifyLog(logDir);
    assertFailure(2, 2, "not canonical: attribute completion_hash must be 64 lowercase hex"
        + " characters: a hash of the response, never its text", report.failure().orElseThrow());
    assertEquals(1, report.records());

    // The same chain with a SHA-256 in every completion verifies: the check is what failed.
    List<String> good = new ArrayList<>();
    prev = ChainHash.GENESIS;
    for (int seq = 1; seq <= 3; seq++) {
      String line = forgedLine(completion("ab".repeat(32)), seq, prev, "ab".repeat(32),
          "cd".repeat(32));
      good.add(line);
      prev = ChainHash.fromHex(line.substring(line.length() - 66, line.length() - 2));
    }
    writeLines(file, good);
    AuditVerifier.Report ok = target == Target.EXPORT
        ? chainOnly.verifyExport(file) : chainOnly.verifyLog(logDir);
    assertTrue(ok.ok(), ok.toString());
  }

  private static AuditRecord.Builder completion(String hash) {
    return AuditRecord.builder(AuditEventType.COMPLETION).tokenId("kUeegR5bfDXGPBY_-IN4RQ")
        .requestId("req-2").status(200).replicaId("authz-1").attribute("completion_hash", hash)
        .attribute("metering", "usage").attribute("upstream", "openai");
  }

  /** The export line of {@code b} at {@code seq}, its {@code from} value replaced by {@code to}. */
  private static String forgedLine(AuditRecord.Builder b, long seq, ChainHash prev, String from,
      String to) {
    String canonical = new String(b.build(seq, AuditFixtures.START_MS + seq, prev,
        ChainHash.GENESIS).canonicalBytes(), StandardCharsets.UTF_8).replace(from, to);
    byte[] bytes = canonical.getBytes(StandardCharsets.UTF_8);
    ChainHash hash = new ChainHasher().next(prev, bytes, 0, bytes.length, -1);
    return canonical.substring(0, canonical.length() - 1) + ",\"prev_hash\":\"" + prev.hex()
        + "\",\"hash\":\"" + hash.hex() + "\"}";
  }

  @Test
  void rangeExport_startingMidChain_verifiesFromItsFirstPrevHash() throws IOException {
    Path export = writeExport(original.subList(9, 24)); // seqs 10..24
    AuditVerifier.Report report = trusting().verifyExport(export);
    assertTrue(report.ok(), report.toString());
    assertEquals(10, report.firstSeq());
  }

  @Test
  void verifyRate_measured() throws IOException {
    int events = 200_000;
    Path bigDir = dataDir.resolve("big");
    MutableClock c = AuditFixtures.startClock();
    try (FileAuditLog log = AuditFixtures.open(config(bigDir), keys, c)) {
      List<java.util.concurrent.CompletableFuture<AuditRecord>> last = new ArrayList<>();
      for (int i = 1; i <= events; i++) {
        java.util.concurrent.CompletableFuture<AuditRecord> f = log.append(AuditFixtures.event(i));
        if (i % 10_000 == 0) {
          f.join(); // keep the queue from filling
        }
      }
    }
    AuditVerifier verifier = trusting();
    long bytes = 0;
    for (Segments.Segment s : Segments.list(bigDir)) {
      bytes += Files.size(s.path());
    }
    double best = Double.MAX_VALUE;
    AuditVerifier.Report report = null;
    for (int run = 0; run < 3; run++) { // the first run warms the JIT up
      long start = System.nanoTime();
      report = verifier.verifyLog(bigDir);
      best = Math.min(best, (System.nanoTime() - start) / 1e9);
      assertTrue(report.ok(), report.toString());
    }
    System.out.printf("audit verify (%d threads): %d records (%d MB, %d bytes/record) in %.3f s"
        + " = %.0f records/s%n", Runtime.getRuntime().availableProcessors(), report.records(),
        bytes >> 20, bytes / report.records(), best, report.records() / best);
  }

  private Path writeExport(List<String> lines) throws IOException {
    Path export = dataDir.resolve("export-" + System.nanoTime() + ".jsonl");
    writeLines(export, lines);
    return export;
  }

  @Test
  void exportBytes_areUtf8Lines() throws IOException {
    Path export = writeExport(original);
    String text = Files.readString(export, StandardCharsets.UTF_8);
    assertTrue(text.endsWith("}\n"));
    assertEquals(24, text.lines().count());
    assertTrue(original.get(0).startsWith("{\"seq\":1,\"time_ms\":" + AuditFixtures.START_MS));
  }

  @Test
  void theExampleInTheDocs_verifies() throws Exception {
    Path doc = Path.of("").toAbsolutePath();
    while (!Files.exists(doc.resolve("docs/audit-log.md"))) {
      doc = doc.getParent();
    }
    String text = Files.readString(doc.resolve("docs/audit-log.md"), StandardCharsets.UTF_8);
    int at = text.indexOf("{\"seq\":1,\"time_ms\":1764028800000,");
    String example = text.substring(at, text.indexOf('\n', at));
    Path export = writeExport(List.of(example));

    AuditVerifier.Report report = AuditVerifier.chainOnly().verifyExport(export);
    assertTrue(report.ok(), report.toString());
    byte[] body = "{\"model\":\"gpt-4o\",\"max_tokens\":64,\"messages\":[]}"
        .getBytes(StandardCharsets.UTF_8);
    AuditRecord record = AuditFixtures.drafts(List.of(example)).get(0).builder()
        .build(1, 0, ChainHash.GENESIS, ChainHash.GENESIS);
    assertEquals(AuditRecord.hashPrompt(body), record.promptHash());
  }

  @Test
  void trusting_noKeys_refused() {
    assertThrows(IllegalArgumentException.class, () -> AuditVerifier.trusting(List.of()));
  }
}
