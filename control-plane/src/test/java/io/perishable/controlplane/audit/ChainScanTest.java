package io.perishable.controlplane.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.perishable.controlplane.MutableClock;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Parallel checking finds the same first bad line as checking on one thread. */
class ChainScanTest {
  @TempDir
  Path dataDir;

  private ChainScan.Bad scan(CheckpointKeys keys, List<String> lines, int threads)
      throws Exception {
    StringBuilder sb = new StringBuilder();
    for (String l : lines) {
      sb.append(l).append('\n');
    }
    ChainVerifier chain = new ChainVerifier(keys.publicKeys().values(), true);
    try (ChainScan scan = new ChainScan(chain, threads)) {
      return scan.scan(new ByteArrayInputStream(sb.toString().getBytes(StandardCharsets.UTF_8)));
    }
  }

  @Test
  void tamperPastSeveralChunks_sameAnswerOnOneAndFourThreads() throws Exception {
    MutableClock clock = AuditFixtures.startClock();
    CheckpointKeys keys = CheckpointKeys.open(dataDir, clock);
    Path logDir = dataDir.resolve("audit");
    try (FileAuditLog log = AuditFixtures.open(AuditFixtures.config(logDir)
        .withCheckpoints(1000, java.time.Duration.ofDays(1)), keys, clock)) {
      AuditFixtures.appendEvents(log, 1, 20_000);
    }
    List<String> lines = AuditFixtures.lines(AuditFixtures.onlySegment(logDir));
    assertNull(scan(keys, lines, 1));
    assertNull(scan(keys, lines, 4));

    List<String> tampered = new ArrayList<>(lines);
    int at = 8192 * 2 + 3; // inside the third chunk
    tampered.set(at, AuditFixtures.flipBitInValue(tampered.get(at), "agent_id"));
    tampered.remove(at - 100); // an earlier problem: must be the one reported
    ChainScan.Bad one = scan(keys, tampered, 1);
    ChainScan.Bad four = scan(keys, tampered, 4);
    assertEquals(one, four);
    assertEquals(at - 100 + 1, one.lineNo());
    assertEquals("seq gap: expected " + (at - 99) + " got " + (at - 98), one.reason());
  }

  /**
   * Blocks are read ahead while the previous one is checked: line numbers, byte offsets and the
   * line cut at a block's end come out as if read in one piece.
   */
  @Test
  void pastTheFirstBlock_offsetsAndTheTornLastLine_asReadInOnePiece() throws Exception {
    MutableClock clock = AuditFixtures.startClock();
    CheckpointKeys keys = CheckpointKeys.open(dataDir, clock);
    Path logDir = dataDir.resolve("audit");
    try (FileAuditLog log = AuditFixtures.open(AuditFixtures.config(logDir)
        .withCheckpoints(1000, java.time.Duration.ofDays(1)), keys, clock)) {
      AuditFixtures.appendEvents(log, 1, 40_000); // about three 4 MiB blocks
    }
    List<String> lines = AuditFixtures.lines(AuditFixtures.onlySegment(logDir));
    int at = lines.size() - 7; // in the last block
    long offset = 0;
    for (int i = 0; i < at; i++) {
      offset += lines.get(i).getBytes(StandardCharsets.UTF_8).length + 1;
    }
    assertTrue(offset > 8 << 20, "the tamper must lie past two blocks: " + offset);
    List<String> tampered = new ArrayList<>(lines);
    tampered.set(at, AuditFixtures.flipBitInValue(tampered.get(at), "agent_id"));
    for (int threads : new int[] {1, 2}) {
      ChainScan.Bad bad = scan(keys, tampered, threads);
      assertEquals(new ChainScan.Bad(at + 1, offset, at + 1, "hash mismatch"), bad);
    }

    // The last line without its newline: a torn record, at the offset where it starts.
    StringBuilder sb = new StringBuilder();
    for (String l : lines) {
      sb.append(l).append('\n');
    }
    byte[] all = sb.toString().getBytes(StandardCharsets.UTF_8);
    byte[] torn = java.util.Arrays.copyOf(all, all.length - 20);
    long lastStart = all.length - lines.get(lines.size() - 1).length() - 1;
    ChainVerifier chain = new ChainVerifier(keys.publicKeys().values(), true);
    try (ChainScan scan = new ChainScan(chain, 2)) {
      ChainScan.Bad bad = scan.scan(new ByteArrayInputStream(torn));
      assertEquals(new ChainScan.Bad(lines.size(), lastStart, lines.size(), "truncated record"),
          bad);
    }
  }

  @Test
  void indexOfNewline_findsTheFirst_atEveryAlignment_andAnyByteValue() {
    java.util.Random random = new java.util.Random(7);
    for (int round = 0; round < 20_000; round++) {
      byte[] b = new byte[1 + random.nextInt(40)];
      for (int i = 0; i < b.length; i++) {
        // Bytes next to '\n' in value (0x09, 0x0b, 0x8a) are where a word trick would slip.
        int pick = random.nextInt(6);
        b[i] = (byte) (pick == 0 ? '\n' : pick == 1 ? 0x0b : pick == 2 ? 0x09
            : pick == 3 ? 0x8a : random.nextInt(256));
      }
      int from = random.nextInt(b.length);
      int to = from + random.nextInt(b.length - from + 1);
      int expected = to;
      for (int i = from; i < to; i++) {
        if (b[i] == '\n') {
          expected = i;
          break;
        }
      }
      assertEquals(expected, ChainScan.indexOfNewline(b, from, to),
          java.util.Arrays.toString(b) + " from " + from + " to " + to);
    }
  }
}
