package io.perishable.authz.report;

import static io.perishable.authz.report.ReportFixtures.config;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.perishable.proto.v1.DecisionReport;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The on-disk spool: seqs, reads, acks and deletion, recovery after a crash, and capacity. */
class SpoolTest {
  @TempDir
  Path dir;

  private static DecisionReport report(int n) {
    return DecisionReport.newBuilder().setTimeMs(n).setRequestId("req-" + n)
        .setPath("/v1/chat/completions").setMethod("POST").build();
  }

  private static void appendReports(Spool spool, int from, int count) {
    for (int i = from; i < from + count; i++) {
      spool.append(report(i));
    }
  }

  /** Every entry a fresh sender would send, in order. */
  private static List<DecisionReport> readAll(Spool spool) throws IOException {
    List<DecisionReport> out = new ArrayList<>();
    Spool.Cursor at = spool.cursorAfterAck();
    while (true) {
      Spool.Batch b = spool.read(at, 50);
      if (b.isEmpty()) {
        return out;
      }
      out.addAll(b.reports());
      at = b.next();
    }
  }

  private long segmentFiles() throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      return files.filter(p -> Spool.segmentSeq(p) > 0).count();
    }
  }

  private Path newestSegment() throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      return files.filter(p -> Spool.segmentSeq(p) > 0).sorted().reduce((a, b) -> b).orElseThrow();
    }
  }

  @Test
  void append_numbersDecisionsFromOne_andReadsThemBackInOrder() throws IOException {
    try (Spool spool = Spool.open(config(dir), () -> {})) {
      assertEquals(1, spool.append(report(1)));
      assertEquals(2, spool.append(report(2)));
      appendReports(spool, 3, 198);

      List<DecisionReport> all = readAll(spool);
      assertEquals(200, all.size());
      for (int i = 0; i < all.size(); i++) {
        assertEquals(i + 1, all.get(i).getSeq());
        assertEquals("req-" + (i + 1), all.get(i).getRequestId());
      }
      assertEquals(200, spool.pending());
    }
  }

  @Test
  void ack_deletesWhollyAckedSegments_andKeepsTheNewest() throws IOException {
    try (Spool spool = Spool.open(config(dir), () -> {})) {
      appendReports(spool, 1, 500); // 8 KiB segments: several files
      long before = segmentFiles();
      assertTrue(before > 3, "expected several segments, got " + before);
      long bytesBefore = spool.usedBytes();

      spool.ack(250);
      assertTrue(segmentFiles() < before);
      assertTrue(spool.usedBytes() < bytesBefore);
      assertEquals(250, spool.pending());
      assertEquals(251, readAll(spool).get(0).getSeq(), "acked decisions are not sent again");

      spool.ack(500);
      assertEquals(1, segmentFiles(), "the newest segment stays: it carries the next seq");
      assertEquals(0, spool.pending());
      assertTrue(readAll(spool).isEmpty());
    }
  }

  @Test
  void reopen_replaysEverythingUnacked_andContinuesTheSeq() throws IOException {
    String id;
    try (Spool spool = Spool.open(config(dir), () -> {})) {
      id = spool.id();
      appendReports(spool, 1, 300);
      spool.ack(120);
    }
    try (Spool spool = Spool.open(config(dir), () -> {})) {
      assertEquals(id, spool.id(), "the spool id survives a restart");
      List<DecisionReport> replay = readAll(spool);
      // Acks are not persisted: whole acked segments are gone, the rest is resent (and
      // de-duplicated by the control plane).
      assertTrue(replay.get(0).getSeq() <= 121, "first replayed " + replay.get(0).getSeq());
      assertEquals(300, replay.get(replay.size() - 1).getSeq());
      assertEquals(301, spool.append(report(301)), "seqs continue after a restart");
    }
  }

  @Test
  void reopen_afterEverythingWasAcked_stillContinuesTheSeq() throws IOException {
    try (Spool spool = Spool.open(config(dir), () -> {})) {
      appendReports(spool, 1, 400);
      spool.ack(400);
    }
    try (Spool spool = Spool.open(config(dir), () -> {})) {
      assertEquals(401, spool.append(report(401)));
    }
  }

  @Test
  void secondProcessOnTheSameDirectory_isRefused() throws IOException {
    try (Spool first = Spool.open(config(dir), () -> {})) {
      assertEquals(1, first.append(report(1)));
      IOException e = assertThrows(IOException.class, () -> Spool.open(config(dir), () -> {}));
      assertTrue(e.getMessage().contains("is in use by another process"), e.getMessage());
    }
    Spool.open(config(dir), () -> {}).close(); // free again once closed
  }

  @Test
  void reopen_truncatesATornLastEntry_andKeepsEveryWholeOne() throws IOException {
    try (Spool spool = Spool.open(config(dir), () -> {})) {
      appendReports(spool, 1, 10);
    }
    // A crash in the middle of write(2): half an entry at the end of the newest segment.
    Files.write(newestSegment(), new byte[] {0, 0, 0, 40, 1, 2, 3}, StandardOpenOption.APPEND);

    try (Spool spool = Spool.open(config(dir), () -> {})) {
      assertEquals(7, spool.recovery().truncatedBytes());
      assertEquals(10, readAll(spool).size());
      assertEquals(11, spool.append(report(11)));
    }
  }

  @Test
  void sync_fsyncsInTheBackgroundThroughTheLastAppend() throws IOException {
    try (Spool spool = Spool.open(config(dir), () -> {})) {
      appendReports(spool, 1, 5);
      spool.sync();
      assertEquals(5, spool.syncedThrough());
    }
  }

  @Test
  void failClosed_stopsAcceptingBeforeFull_andRecordsTheRefusalsIntoTheReserve()
      throws IOException {
    ReportConfig cfg = config(dir).withSpool(64 << 10, SpoolFullPolicy.FAIL_CLOSED)
        .withSegmentBytes(4096);
    try (Spool spool = Spool.open(cfg, () -> {})) {
      int accepted = 0;
      while (spool.acceptingDecisions()) {
        assertTrue(spool.append(report(accepted + 1)) > 0);
        accepted++;
      }
      assertTrue(spool.usedBytes() >= cfg.spoolCapacityBytes() - cfg.reserveBytes());
      assertEquals(0, spool.unrecorded(), "every decision served was recorded");

      // Refusals while closed still fit into the reserve, until it too is full.
      long refusals = 0;
      while (spool.append(report(0)) > 0) {
        refusals++;
      }
      assertTrue(refusals > 0, "the reserve holds the refusals");
      assertEquals(1, spool.unrecorded());
      assertTrue(spool.usedBytes() <= cfg.spoolCapacityBytes());

      spool.ack(spool.lastSeq()); // the control plane is back and took everything
      assertTrue(spool.acceptingDecisions(), "accepting again once acked segments are gone");
    }
  }

  @Test
  void keepServing_acceptsAlways_andCountsWhatDidNotFit() throws IOException {
    ReportConfig cfg = config(dir).withSpool(64 << 10, SpoolFullPolicy.KEEP_SERVING)
        .withSegmentBytes(4096);
    try (Spool spool = Spool.open(cfg, () -> {})) {
      int recorded = 0;
      for (int i = 1; i <= 2000; i++) {
        assertTrue(spool.acceptingDecisions());
        if (spool.append(report(i)) > 0) {
          recorded++;
        }
      }
      assertTrue(recorded < 2000);
      assertEquals(2000 - recorded, spool.unrecorded());
      assertFalse(spool.usedBytes() > cfg.spoolCapacityBytes());
    }
  }
}
