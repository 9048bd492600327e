package io.perishable.controlplane.audit;

import static io.perishable.controlplane.audit.AuditFixtures.flipBitInValue;
import static io.perishable.controlplane.audit.AuditFixtures.lines;
import static io.perishable.controlplane.audit.AuditFixtures.writeLines;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.perishable.controlplane.MutableClock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Python program in docs/audit-log.md, run as printed, against exports the Java code wrote:
 * the specification is precise enough for an independent verifier. Skipped when python3 or PyPI
 * is unavailable, except under CI ({@code CI=true}), where that is a failure.
 */
class PythonVerifierTest {
  @TempDir
  static Path workDir;

  private static PythonVerifier python;

  @TempDir
  Path dataDir;

  private final MutableClock clock = AuditFixtures.startClock();
  private CheckpointKeys keys;
  private List<String> keyHex;
  private Path export;

  @BeforeAll
  static void preparePython() throws Exception {
    StringBuilder whyNot = new StringBuilder();
    Optional<PythonVerifier> v = PythonVerifier.prepare(workDir, whyNot);
    if (v.isEmpty()) {
      if ("true".equalsIgnoreCase(System.getenv("CI"))) {
        fail("the Python audit verifier must run in CI: " + whyNot);
      }
      Assumptions.abort("Python verifier unavailable: " + whyNot);
    }
    python = v.get();
  }

  @BeforeEach
  void exportAChain() throws Exception {
    keys = CheckpointKeys.open(dataDir, clock);
    keyHex = List.of(HexFormat.of().formatHex(keys.currentPublicKey()));
    Path logDir = dataDir.resolve("audit");
    try (FileAuditLog log = AuditFixtures.open(AuditFixtures.config(logDir)
        .withCheckpoints(5, Duration.ofDays(1)), keys, clock)) {
      for (int i = 1; i <= 12; i++) {
        log.append(AuditFixtures.event(i)).join();
        clock.advance(Duration.ofMillis(7));
      }
      // every character class the escaping rules name, in fields and attributes
      log.append(AuditRecord.builder(AuditEventType.REVOKED)
          .selector("agent=ü-\uD83D\uDE00").reason("quote \" backslash \\ slash / tab \t nl \n"
              + " cr \r bs \b ff \f nul \u0000 us \u001f del \u007f ls \u2028 snow ☃")
          .attribute("z", "last").attribute("é", "accent").attribute("\uD83D\uDE00", "emoji")
          .attribute("a", "first").attribute("\uFFFD", "replacement")
          .attribute("prev_hash", "not the chain's").attribute("hash", "nor this")).join();
      log.append(AuditRecord.builder(AuditEventType.RESPONSE).requestId("req-2").status(-1)
          .latencyUs(Long.MAX_VALUE)).join();
      log.append(completion("ab".repeat(32))).join();
      // budget records, as the control plane writes them (attributes only: no new field)
      log.append(AuditRecord.builder(AuditEventType.BUDGET_LEASED).tokenId("tok-b")
          .replicaId("authz-1").agentId("summarizer").attribute("lease_id", "lease-1")
          .attribute("amount", "8192").attribute("expires_at_ms", "1764028830000")
          .attribute("agent_window_start_ms", "1763942400000")
          .attribute("agent_window_ms", "86400000")).join();
      log.append(AuditRecord.builder(AuditEventType.BUDGET_RETURNED).tokenId("tok-b")
          .replicaId("authz-1").attribute("lease_id", "lease-1").attribute("amount", "8192")
          .attribute("charged", "1234").attribute("how", "settled")).join();
      export = dataDir.resolve("export.jsonl");
      new AuditExporter(log).export(1, Long.MAX_VALUE, export);
    }
    assertTrue(AuditVerifier.trusting(keys.publicKeys().values()).verifyExport(export).ok());
  }

  @Test
  void goodExport_accepted_withAndWithoutTheCheckpointKey() throws Exception {
    PythonVerifier.Result withKey = python.verify(export, keyHex);
    assertEquals(0, withKey.exitCode(), withKey.output());
    assertEquals("OK: " + export, withKey.output());
    assertEquals(0, python.verify(export, List.of()).exitCode());
  }

  @Test
  void flippedBit_rejected_namingTheLine() throws Exception {
    List<String> lines = new ArrayList<>(lines(export));
    lines.set(8, flipBitInValue(lines.get(8), "agent_id"));
    writeLines(export, lines);

    PythonVerifier.Result r = python.verify(export, keyHex);
    assertEquals(1, r.exitCode(), r.output());
    assertEquals("line 9 (seq 9): hash mismatch", r.output());
  }

  @Test
  void deletedRecord_rejected_seqGap() throws Exception {
    List<String> lines = new ArrayList<>(lines(export));
    lines.remove(3);
    writeLines(export, lines);

    PythonVerifier.Result r = python.verify(export, keyHex);
    assertEquals(1, r.exitCode(), r.output());
    assertEquals("line 4: seq gap: expected 4 got 5", r.output());
  }

  @Test
  void truncatedTail_rejected() throws Exception {
    byte[] b = Files.readAllBytes(export);
    Files.write(export, java.util.Arrays.copyOf(b, b.length - 30));

    PythonVerifier.Result r = python.verify(export, keyHex);
    assertEquals(1, r.exitCode(), r.output());
    assertTrue(r.output().endsWith(": truncated record"), r.output());
  }

  @Test
  void forgedChain_rejectedWithTheKey_acceptedWithoutIt() throws Exception {
    List<AuditFixtures.Draft> drafts = AuditFixtures.drafts(lines(export));
    drafts.get(8).builder().model("gpt-4o-mini");
    writeLines(export, AuditFixtures.rechain(drafts)); // self-consistent, old signatures

    PythonVerifier.Result r = python.verify(export, keyHex);
    assertEquals(1, r.exitCode(), r.output());
    assertTrue(r.output().startsWith("line 12: bad checkpoint signature"), r.output());
    assertEquals(0, python.verify(export, List.of()).exitCode(),
        "without the key, a recomputed chain is indistinguishable");
  }

  @Test
  void forgedChainWithoutCheckpoints_rejectedWithTheKey() throws Exception {
    List<AuditFixtures.Draft> drafts = AuditFixtures.drafts(lines(export));
    drafts.removeIf(d -> d.builder().type() == AuditEventType.CHECKPOINT);
    writeLines(export, AuditFixtures.rechain(drafts));

    PythonVerifier.Result r = python.verify(export, keyHex);
    assertEquals(1, r.exitCode(), r.output());
    assertEquals("records after the start are not covered by a checkpoint signature",
        r.output());
  }

  @Test
  void completionText_inARechainedRecord_rejected() throws Exception {
    // A completion record whose completion_hash holds text, with a self-consistent hash: the
    // Java log refuses to write it, so it is written here by hand, as a forger would.
    String good = new String(completion("ab".repeat(32)).snapshot()
        .build(1, 1_764_028_800_000L, ChainHash.GENESIS, ChainHash.GENESIS).canonicalBytes(),
        StandardCharsets.UTF_8);
    byte[] canonical = good.replace("ab".repeat(32), "Sure! Here is the plan: step one")
        .getBytes(StandardCharsets.UTF_8);
    ChainHash hash = new ChainHasher().next(ChainHash.GENESIS, canonical, 0, canonical.length,
        -1);
    String c = new String(canonical, StandardCharsets.UTF_8);
    writeLines(export, List.of(c.substring(0, c.length() - 1) + ",\"prev_hash\":\""
        + ChainHash.GENESIS.hex() + "\",\"hash\":\"" + hash.hex() + "\"}"));

    PythonVerifier.Result r = python.verify(export, List.of());
    assertEquals(1, r.exitCode(), r.output());
    assertEquals("line 1 (seq 1): completion_hash is not a SHA-256", r.output());
  }

  private static AuditRecord.Builder completion(String hash) {
    return AuditRecord.builder(AuditEventType.COMPLETION).tokenId("kUeegR5bfDXGPBY_-IN4RQ")
        .requestId("req-2").status(200).replicaId("authz-1").attribute("completion_hash", hash)
        .attribute("metering", "usage").attribute("input_tokens", "12")
        .attribute("output_tokens", "34");
  }

  @Test
  void onlyCanonicalBytesPass() throws Exception {
    List<String> lines = new ArrayList<>(lines(onlyLine()));
    writeLines(export, List.of(lines.get(0).replace("\"seq\":1,", "\"seq\": 1,")));
    PythonVerifier.Result r = python.verify(export, List.of());
    assertEquals(1, r.exitCode(), r.output());
    assertEquals("line 1: not canonical", r.output());
  }

  private Path onlyLine() throws Exception {
    Path one = dataDir.resolve("one.jsonl");
    writeLines(one, lines(export).subList(0, 1));
    return one;
  }
}
