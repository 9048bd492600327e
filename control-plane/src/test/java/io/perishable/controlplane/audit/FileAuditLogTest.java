package io.perishable.controlplane.audit;

import static io.perishable.controlplane.audit.AuditFixtures.appendEvents;
import static io.perishable.controlplane.audit.AuditFixtures.config;
import static io.perishable.controlplane.audit.AuditFixtures.event;
import static io.perishable.controlplane.audit.AuditFixtures.lines;
import static io.perishable.controlplane.audit.AuditFixtures.onlySegment;
import static io.perishable.controlplane.audit.AuditFixtures.open;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.perishable.controlplane.MutableClock;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileAuditLogTest {
  @TempDir
  Path dataDir;

  private Path logDir;
  private CheckpointKeys keys;
  private final MutableClock clock = AuditFixtures.startClock();

  @BeforeEach
  void setUp() {
    logDir = dataDir.resolve("audit");
    keys = CheckpointKeys.open(dataDir, clock);
  }

  private List<AuditRecord> readAll(AuditLog log, long from) {
    List<AuditRecord> out = new ArrayList<>();
    try (AuditLog.Reader r = log.readFrom(from)) {
      r.forEachRemaining(out::add);
    }
    return out;
  }

  private AuditVerifier.Report verifyLog() throws IOException {
    return AuditVerifier.trusting(keys.publicKeys().values()).verifyLog(logDir);
  }

  /** A force hook that counts, remembers how far it forced, and can hold the first force. */
  private static final class GatedForce implements FileAuditLog.ForceHook {
    final AtomicInteger forces = new AtomicInteger();
    final AtomicLong forcedThrough = new AtomicLong();
    final CountDownLatch firstEntered = new CountDownLatch(1);
    final CountDownLatch release = new CountDownLatch(1);

    @Override
    public void force(java.nio.channels.FileChannel channel, long throughSeq) throws IOException {
      if (forces.incrementAndGet() == 1) {
        firstEntered.countDown();
        try {
          release.await();
        } catch (InterruptedException e) {
          throw new IOException(e);
        }
      }
      channel.force(false);
      forcedThrough.accumulateAndGet(throughSeq, Math::max);
    }
  }

  @Test
  void append_assignsSeqTimeAndChainsHashes() {
    try (FileAuditLog log = open(config(logDir), keys, clock)) {
      AuditRecord first = log.append(event(1)).join();
      clock.advance(Duration.ofMillis(5));
      AuditRecord second = log.append(event(2)).join();

      assertEquals(1, first.seq());
      assertEquals(ChainHash.GENESIS, first.prevHash());
      assertEquals(AuditFixtures.START_MS, first.timeMs());
      assertEquals(2, second.seq());
      assertEquals(first.hash(), second.prevHash());
      assertEquals(AuditFixtures.START_MS + 5, second.timeMs());
      assertEquals(new AuditLog.Head(2, second.hash()), log.head());
      assertEquals(List.of(first, second), readAll(log, 1));
    }
  }

  @Test
  void append_checkpointType_refused() {
    try (FileAuditLog log = open(config(logDir), keys, clock)) {
      assertThrows(IllegalArgumentException.class,
          () -> log.append(AuditRecord.builder(AuditEventType.CHECKPOINT)));
    }
  }

  @Test
  void reopen_recoversHeadAndContinuesTheChain() throws IOException {
    AuditRecord last;
    try (FileAuditLog log = open(config(logDir), keys, clock)) {
      last = appendEvents(log, 1, 10).get(9);
    }
    try (FileAuditLog log = open(config(logDir), keys, clock)) {
      // close() wrote a checkpoint of seq 10 as seq 11
      assertEquals(11, log.head().seq());
      assertEquals(11, log.recovery().records());
      AuditRecord next = log.append(event(11)).join();
      assertEquals(12, next.seq());
      List<AuditRecord> all = readAll(log, 1);
      assertEquals(last, all.get(9));
      assertEquals(AuditEventType.CHECKPOINT, all.get(10).type());
      assertEquals(all.get(10).hash(), next.prevHash());
    }
    assertTrue(verifyLog().ok(), verifyLog().toString());
  }

  @Test
  void readFrom_startsAtTheSeq_andStopsAtTheHeadOfThatMoment() {
    try (FileAuditLog log = open(config(logDir), keys, clock)) {
      appendEvents(log, 1, 5);
      try (AuditLog.Reader reader = log.readFrom(3)) {
        log.append(event(6)).join(); // after the reader was made: not in it
        List<Long> seqs = new ArrayList<>();
        reader.forEachRemaining(r -> seqs.add(r.seq()));
        assertEquals(List.of(3L, 4L, 5L), seqs);
      }
      assertEquals(0, readAll(log, 7).size());
    }
  }

  /**
   * Seek points: every checkpoint and every SEEK_EVERY-th seq, from the writer and, after a
   * reopen, from the verification; reads from any seq, across segments, give the same records.
   */
  @Test
  void readFrom_startsAtTheNearestSeekPoint_fromTheWriterAndAfterReopening() throws IOException {
    FileAuditLogConfig cfg = config(logDir).withSegmentBytes(512 << 10)
        .withCheckpoints(700, Duration.ofDays(1));
    int events = 3 * (int) FileAuditLog.SEEK_EVERY;
    List<AuditRecord> written;
    java.util.TreeMap<Long, Long> fromWriter;
    try (FileAuditLog log = open(cfg, keys, clock)) {
      appendEvents(log, 1, events);
      written = readAll(log, 1);
      fromWriter = new java.util.TreeMap<>(log.seekPoints());
      for (long seq : List.of(1L, 700L, 701L, 1024L, 1025L, 2047L, 2048L, 3000L)) {
        assertEquals(written.subList((int) seq - 1, written.size()), readAll(log, seq));
      }
    }
    assertTrue(fromWriter.containsKey(FileAuditLog.SEEK_EVERY), fromWriter.toString());
    assertTrue(fromWriter.containsKey(701L), "the checkpoint after 700 records");
    assertTrue(Segments.list(logDir).size() >= 2, "the test needs several segments");

    try (FileAuditLog log = open(cfg, keys, clock)) {
      java.util.TreeMap<Long, Long> reopened = new java.util.TreeMap<>(log.seekPoints());
      assertEquals(fromWriter.headMap(written.size() + 1L), reopened.headMap(written.size() + 1L),
          "verification finds the same offsets the writer recorded");
      for (long seq : List.of(1L, 1024L, 1403L, 2050L, 3071L)) {
        assertEquals(written.subList((int) seq - 1, written.size()),
            readAll(log, seq).subList(0, written.size() - (int) seq + 1));
      }
    }
  }

  @Test
  void readFrom_pastABlankedLine_onlyWithTheSeekPointBeyondIt() throws IOException {
    FileAuditLogConfig cfg = config(logDir).withCheckpoints(100_000, Duration.ofDays(1));
    int events = 2 * (int) FileAuditLog.SEEK_EVERY;
    try (FileAuditLog log = open(cfg, keys, clock)) {
      appendEvents(log, 1, events);
      List<AuditRecord> written = readAll(log, 1);
      Path segment = onlySegment(logDir);
      byte[] bytes = Files.readAllBytes(segment);
      for (int i = 0; bytes[i] != '\n'; i++) {
        bytes[i] = ' '; // seq 1's line, after it was verified: only a reader from seq 1 sees it
      }
      Files.write(segment, bytes);
      long at = FileAuditLog.SEEK_EVERY + 5;
      assertEquals(written.subList((int) at - 1, events), readAll(log, at), "seeked past it");
      AuditLogCorruptedException e = assertThrows(AuditLogCorruptedException.class,
          () -> readAll(log, 2));
      assertEquals(2, e.firstBadSeq());
      assertEquals(1, e.line());

      // A wrong seek point (mid-line, another line, beyond the end) is noticed: the reader
      // falls back to the segment's start, and so reaches the blanked line.
      for (long wrong : List.of(log.seekPoints().get(FileAuditLog.SEEK_EVERY) + 1,
          log.seekPoints().get(FileAuditLog.SEEK_EVERY) - 300, (long) bytes.length + 10)) {
        log.seekPoints().put(FileAuditLog.SEEK_EVERY, wrong);
        AuditLogCorruptedException fellBack = assertThrows(AuditLogCorruptedException.class,
            () -> readAll(log, at), "offset " + wrong);
        assertEquals(1, fellBack.line());
      }
    }
  }

  /** A wrong seek point on an undamaged log costs a re-read, never a wrong record. */
  @Test
  void readFrom_wrongSeekPoints_stillReadTheRightRecords() {
    try (FileAuditLog log = open(config(logDir), keys, clock)) {
      appendEvents(log, 1, 2 * (int) FileAuditLog.SEEK_EVERY + 10);
      List<AuditRecord> written = readAll(log, 1);
      long point = 2 * FileAuditLog.SEEK_EVERY;
      long right = log.seekPoints().get(point);
      long at = point + 3;
      for (long wrong : List.of(right + 1, right - 1, right + 200, 1L, Long.MAX_VALUE / 2,
          log.seekPoints().get(FileAuditLog.SEEK_EVERY))) {
        log.seekPoints().put(point, wrong);
        assertEquals(written.subList((int) at - 1, written.size()), readAll(log, at),
            "offset " + wrong);
      }
      // The right one again, and a read from exactly the seek point's seq.
      log.seekPoints().put(point, right);
      assertEquals(written.subList((int) point - 1, written.size()), readAll(log, point));
    }
  }

  /** A corruption found after a seek is reported with its line number in the whole segment. */
  @Test
  void readFrom_afterASeek_namesTheLineInTheWholeSegment() throws IOException {
    try (FileAuditLog log = open(config(logDir), keys, clock)) {
      appendEvents(log, 1, (int) FileAuditLog.SEEK_EVERY + 10);
      Path segment = onlySegment(logDir);
      List<String> lines = lines(segment);
      int bad = (int) FileAuditLog.SEEK_EVERY + 2; // seq and line number
      lines.set(bad - 1, lines.get(bad - 1).replace("\"seq\":" + bad + ",", "\"seq\":" + bad
          + " ,"));
      AuditFixtures.writeLines(segment, lines);
      AuditLogCorruptedException e = assertThrows(AuditLogCorruptedException.class,
          () -> readAll(log, FileAuditLog.SEEK_EVERY + 1));
      assertEquals(bad, e.firstBadSeq());
      assertEquals(bad, e.line(), e.getMessage());
    }
  }

  @Test
  void groupCommit_futuresCompleteOnlyAfterTheirBatchIsForced_oneForcePerBatch()
      throws Exception {
    GatedForce gate = new GatedForce();
    int threads = 8;
    int perThread = 500;
    try (FileAuditLog log = FileAuditLog.open(config(logDir), keys, clock, gate)) {
      CompletableFuture<AuditRecord> first = log.append(event(0));
      gate.firstEntered.await(); // the writer now holds batch 1 in force()

      ConcurrentLinkedQueue<CompletableFuture<AuditRecord>> futures =
          new ConcurrentLinkedQueue<>();
      ConcurrentLinkedQueue<String> early = new ConcurrentLinkedQueue<>();
      ExecutorService pool = Executors.newFixedThreadPool(threads);
      List<Future<?>> submitted = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int base = t * perThread;
        submitted.add(pool.submit(() -> {
          for (int i = 1; i <= perThread; i++) {
            CompletableFuture<AuditRecord> f = log.append(event(base + i));
            f.thenAccept(r -> {
              if (r.seq() > gate.forcedThrough.get()) {
                early.add("seq " + r.seq() + " completed before it was forced");
              }
            });
            futures.add(f);
          }
        }));
      }
      for (Future<?> s : submitted) {
        s.get();
      }
      pool.shutdown();
      // Everyone is queued behind the held force: nothing may have completed.
      assertFalse(first.isDone());
      assertTrue(futures.stream().noneMatch(CompletableFuture::isDone));

      gate.release.countDown();
      Set<Long> seqs = new HashSet<>();
      seqs.add(first.join().seq());
      for (CompletableFuture<AuditRecord> f : futures) {
        seqs.add(f.join().seq());
      }
      assertEquals(threads * perThread + 1, seqs.size());
      assertTrue(early.isEmpty(), early.toString());
      // batch 1 (one record); while it was held, at most SYNCS_IN_FLIGHT - 1 more batches were
      // written and forced (not completed: completion waits for batch 1); then the rest of the
      // 4000 queued ones: at most ceil(4000 / 8192) more forces
      assertTrue(gate.forces.get() <= FileAuditLog.SYNCS_IN_FLIGHT + 1, gate.forces + " forces");
    }
    assertTrue(verifyLog().ok(), verifyLog().toString());
  }

  @Test
  void fsyncsOverlap_aBatchCompletesOnlyAfterItsOwnAndEveryEarlierFsync() throws Exception {
    AtomicInteger forces = new AtomicInteger();
    CountDownLatch secondForced = new CountDownLatch(1);
    FileAuditLog.ForceHook firstWaitsForSecond = (channel, throughSeq) -> {
      int call = forces.incrementAndGet();
      try {
        if (call == 1 && !secondForced.await(30, TimeUnit.SECONDS)) {
          throw new IOException("the second batch's fsync never started beside the first");
        }
      } catch (InterruptedException e) {
        throw new IOException(e);
      }
      channel.force(false);
      if (call == 2) {
        secondForced.countDown();
      }
    };
    List<Long> completed = Collections.synchronizedList(new ArrayList<>());
    try (FileAuditLog log = FileAuditLog.open(config(logDir), keys, clock, firstWaitsForSecond)) {
      CompletableFuture<AuditRecord> first = log.append(event(1));
      CompletableFuture<Void> firstNoted = first.thenAccept(r -> completed.add(r.seq()));
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (forces.get() == 0 && System.nanoTime() < deadline) {
        Thread.onSpinWait(); // the first batch is in its fsync once the hook has been called
      }
      CompletableFuture<AuditRecord> second = log.append(event(2));
      CompletableFuture<Void> secondNoted = second.thenAccept(r -> completed.add(r.seq()));

      assertEquals(2, second.join().seq());
      assertEquals(1, first.join().seq());
      firstNoted.join();
      secondNoted.join();
      // The second batch's fsync returned first, yet the first batch completed first.
      assertEquals(List.of(1L, 2L), completed);
      assertEquals(2, forces.get());
      assertEquals(2, log.head().seq());
    }
  }

  /** A force hook that holds every force until released, counting those that began. */
  private static final class HeldForces implements FileAuditLog.ForceHook {
    final AtomicInteger entered = new AtomicInteger();
    final CountDownLatch release = new CountDownLatch(1);

    @Override
    public void force(java.nio.channels.FileChannel channel, long throughSeq) throws IOException {
      entered.incrementAndGet();
      try {
        release.await();
      } catch (InterruptedException e) {
        throw new IOException(e);
      }
      channel.force(false);
    }

    void awaitEntered(int forces) {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (entered.get() < forces) {
        if (System.nanoTime() > deadline) {
          throw new AssertionError("only " + entered.get() + " of " + forces + " forces began");
        }
        Thread.onSpinWait();
      }
    }
  }

  @Test
  void queueFull_producerWaitsItsTimeout_thenTheAppendFailsWithAuditLogFull()
      throws Exception {
    HeldForces held = new HeldForces();
    FileAuditLogConfig small = config(logDir).withQueue(2, Duration.ofMillis(1));
    try (FileAuditLog log = FileAuditLog.open(small, keys, clock, held)) {
      List<CompletableFuture<AuditRecord>> accepted = new ArrayList<>();
      for (int i = 1; i <= FileAuditLog.SYNCS_IN_FLIGHT; i++) {
        accepted.add(log.append(event(i)));
        held.awaitEntered(i); // a batch of its own, in its fsync
      }
      // Every fsync slot is busy, so the writer takes nothing more: two fill the queue.
      accepted.add(log.append(event(FileAuditLog.SYNCS_IN_FLIGHT + 1)));
      accepted.add(log.append(event(FileAuditLog.SYNCS_IN_FLIGHT + 2)));

      CompletableFuture<AuditRecord> refused = log.append(event(99));

      CompletionException e = assertThrows(CompletionException.class, refused::join);
      assertInstanceOf(AuditLogFullException.class, e.getCause());
      assertTrue(e.getCause().getMessage().contains("was not appended"));
      held.release.countDown();
      List<Long> seqs = new ArrayList<>();
      for (CompletableFuture<AuditRecord> f : accepted) {
        seqs.add(f.join().seq());
      }
      List<Long> expected = new ArrayList<>();
      for (long seq = 1; seq <= FileAuditLog.SYNCS_IN_FLIGHT + 2; seq++) {
        expected.add(seq);
      }
      assertEquals(expected, seqs);
      // the refused record is nowhere
      assertEquals(FileAuditLog.SYNCS_IN_FLIGHT + 2, log.head().seq());
    }
  }

  @Test
  void checkpoint_everyNRecords() {
    try (FileAuditLog log = open(config(logDir).withCheckpoints(5, Duration.ofDays(1)), keys,
        clock)) {
      for (int i = 1; i <= 12; i++) {
        log.append(event(i)).join();
      }
      List<AuditRecord> all = readAll(log, 1);
      List<Long> checkpointSeqs = new ArrayList<>();
      for (AuditRecord r : all) {
        if (r.type() == AuditEventType.CHECKPOINT) {
          checkpointSeqs.add(r.seq());
          assertEquals(r.seq() - 1, r.checkpointSeq());
          assertEquals(r.prevHash(), r.checkpointHash());
          assertEquals(keys.currentKeyId(), r.keyId());
        }
      }
      assertEquals(List.of(6L, 12L), checkpointSeqs);
      assertEquals(14, log.head().seq());
    }
  }

  @Test
  void checkpoint_afterTheIntervalPasses_withRecordsUncovered() {
    try (FileAuditLog log = open(config(logDir).withCheckpoints(1000, Duration.ofMinutes(1)),
        keys, clock)) {
      appendEvents(log, 1, 3);
      assertTrue(readAll(log, 1).stream().noneMatch(r -> r.type() == AuditEventType.CHECKPOINT));

      clock.advance(Duration.ofSeconds(61));
      log.append(event(4)).join(); // the writer notices the interval at the latest now

      assertTrue(readAll(log, 1).stream().anyMatch(r -> r.type() == AuditEventType.CHECKPOINT
          && r.checkpointSeq() >= 3), readAll(log, 1).toString());
    }
  }

  @Test
  void checkpoint_onRequest_andOnClose() throws IOException {
    try (FileAuditLog log = open(config(logDir), keys, clock)) {
      appendEvents(log, 1, 2);
      AuditRecord cp = log.checkpoint().join();
      assertEquals(3, cp.seq());
      assertEquals(2, cp.checkpointSeq());
      log.append(event(3)).join();
    }
    AuditVerifier.Report report = verifyLog();
    assertTrue(report.ok(), report.toString());
    assertEquals(5, report.lastSeq());
    assertEquals(5, report.lastCheckpointSeq());
    assertEquals(0, report.unsignedTail());
  }

  @Test
  void close_thenAppend_failsUnavailable() {
    FileAuditLog log = open(config(logDir), keys, clock);
    log.close();
    CompletionException e = assertThrows(CompletionException.class,
        () -> log.append(event(1)).join());
    assertInstanceOf(AuditLogUnavailableException.class, e.getCause());
  }

  @Test
  void ioErrorOnForce_failsTheBatch_andStopsTheLog() {
    AtomicInteger calls = new AtomicInteger();
    FileAuditLog.ForceHook failingSecond = (channel, seq) -> {
      if (calls.incrementAndGet() == 2) {
        throw new IOException("disk on fire");
      }
    };
    try (FileAuditLog log = FileAuditLog.open(config(logDir), keys, clock, failingSecond)) {
      log.append(event(1)).join();
      CompletionException e = assertThrows(CompletionException.class,
          () -> log.append(event(2)).join());
      assertInstanceOf(AuditLogUnavailableException.class, e.getCause());
      assertTrue(e.getCause().getMessage().contains("disk on fire"), e.getCause().getMessage());
      assertThrows(CompletionException.class, () -> log.append(event(3)).join());
      assertEquals(1, log.head().seq());
    }
  }

  @Test
  void secondOpenOfTheSameDirectory_refused() {
    try (FileAuditLog log = open(config(logDir), keys, clock)) {
      IllegalStateException e = assertThrows(IllegalStateException.class,
          () -> open(config(logDir), keys, clock));
      assertTrue(e.getMessage().contains("in use"), e.getMessage());
      assertEquals(1, log.append(event(1)).join().seq()); // the first one is unaffected
    }
  }

  @Test
  void segments_rollAtTheConfiguredSize_andReopenAcrossThem() throws IOException {
    FileAuditLogConfig smallSegments = config(logDir).withSegmentBytes(4096)
        .withCheckpoints(50, Duration.ofDays(1));
    try (FileAuditLog log = open(smallSegments, keys, clock)) {
      for (int i = 1; i <= 120; i++) {
        log.append(event(i)).join();
      }
    }
    List<Segments.Segment> segments = Segments.list(logDir);
    assertTrue(segments.size() > 3, segments.toString());
    assertEquals(1, segments.get(0).firstSeq());
    try (FileAuditLog log = open(smallSegments, keys, clock)) {
      long head = log.head().seq();
      assertEquals(head, readAll(log, 1).size());
      assertEquals(head - 99, readAll(log, 100).size());
      assertEquals(head + 1, log.append(event(121)).join().seq());
    }
    AuditVerifier.Report report = verifyLog();
    assertTrue(report.ok(), report.toString());
  }

  @Test
  void tornFinalRecord_reopenRefuses_namingTheFirstBadSeq() throws IOException {
    try (FileAuditLog log = open(config(logDir), keys, clock)) {
      appendEvents(log, 1, 10); // close() adds checkpoint 11
    }
    Path segment = onlySegment(logDir);
    byte[] bytes = Files.readAllBytes(segment);
    int lastLineStart = lastLineStart(bytes);
    // a crash in the middle of writing seq 11
    Files.write(segment, java.util.Arrays.copyOf(bytes, lastLineStart + 40));

    AuditLogCorruptedException e = assertThrows(AuditLogCorruptedException.class,
        () -> open(config(logDir), keys, clock));
    assertEquals(11, e.firstBadSeq());
    assertEquals("truncated record", e.reason());
    assertEquals(11, e.line());
    assertTrue(e.getMessage().contains("quarantineDamagedTail"), e.getMessage());
  }

  @Test
  void tornFinalRecord_quarantine_movesTheTailAside_andContinues() throws IOException {
    try (FileAuditLog log = open(config(logDir), keys, clock)) {
      appendEvents(log, 1, 10);
    }
    Path segment = onlySegment(logDir);
    byte[] bytes = Files.readAllBytes(segment);
    int lastLineStart = lastLineStart(bytes);
    Files.write(segment, java.util.Arrays.copyOf(bytes, lastLineStart + 40));

    try (FileAuditLog log = open(config(logDir).withQuarantineDamagedTail(true), keys, clock)) {
      FileAuditLog.Quarantine q = log.recovery().quarantined().orElseThrow();
      assertEquals(11, q.firstBadSeq());
      assertEquals("truncated record", q.reason());
      assertEquals(40, q.bytesMoved());
      assertEquals(1, q.sideFiles().size());
      assertTrue(q.sideFiles().get(0).getFileName().toString()
          .startsWith(segment.getFileName() + ".damaged-"));
      assertEquals(new String(bytes, lastLineStart, 40, StandardCharsets.UTF_8),
          Files.readString(q.sideFiles().get(0), StandardCharsets.UTF_8));
      assertEquals(10, log.head().seq());
      assertEquals(11, log.append(event(11)).join().seq());
    }
    AuditVerifier.Report report = verifyLog();
    assertTrue(report.ok(), report.toString());
  }

  @Test
  void garbageAfterACrash_reopenRefuses_notJson() throws IOException {
    try (FileAuditLog log = open(config(logDir), keys, clock)) {
      appendEvents(log, 1, 4); // + checkpoint 5
    }
    Files.write(onlySegment(logDir), new byte[64], StandardOpenOption.APPEND);

    AuditLogCorruptedException e = assertThrows(AuditLogCorruptedException.class,
        () -> open(config(logDir), keys, clock));
    assertEquals(6, e.firstBadSeq());
    assertEquals("truncated record", e.reason()); // zeros, and no newline after them
  }

  @Test
  void editedRecordInTheMiddle_reopenRefuses_hashMismatchAtThatSeq() throws IOException {
    try (FileAuditLog log = open(config(logDir), keys, clock)) {
      appendEvents(log, 1, 10);
    }
    Path segment = onlySegment(logDir);
    List<String> lines = lines(segment);
    lines.set(5, AuditFixtures.flipBitInValue(lines.get(5), "agent_id"));
    AuditFixtures.writeLines(segment, lines);

    AuditLogCorruptedException e = assertThrows(AuditLogCorruptedException.class,
        () -> open(config(logDir), keys, clock));
    assertEquals(6, e.firstBadSeq());
    assertEquals("hash mismatch", e.reason());
    assertEquals(6, e.line());
  }

  @Test
  void checkpointKeyLost_reopenRefuses_untrustedCheckpoint() throws IOException {
    try (FileAuditLog log = open(config(logDir), keys, clock)) {
      appendEvents(log, 1, 3);
    }
    CheckpointKeys otherKeys = CheckpointKeys.open(dataDir.resolve("other"), clock);
    AuditLogCorruptedException e = assertThrows(AuditLogCorruptedException.class,
        () -> open(config(logDir), otherKeys, clock));
    assertEquals(4, e.firstBadSeq());
    assertTrue(e.reason().startsWith("bad checkpoint signature"), e.reason());
  }

  @Test
  void checkpointKeys_ownerOnly_andStable() throws IOException {
    Path file = keys.directory().resolve("checkpoint-" + keys.currentKeyId() + ".key");
    assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(
        Files.getPosixFilePermissions(file)));
    assertEquals(keys.currentKeyId(), CheckpointKeys.open(dataDir, clock).currentKeyId());
    Files.setPosixFilePermissions(file,
        java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> CheckpointKeys.open(dataDir, clock));
    assertTrue(e.getMessage().contains("owner only"), e.getMessage());
  }

  @Test
  void exporter_runsOnToTheCoveringCheckpoint() throws IOException {
    try (FileAuditLog log = open(config(logDir).withCheckpoints(5, Duration.ofDays(1)), keys,
        clock)) {
      for (int i = 1; i <= 8; i++) {
        log.append(event(i)).join(); // checkpoint at 6
      }
      AuditExporter exporter = new AuditExporter(log);
      Path inside = dataDir.resolve("range.jsonl");
      assertEquals(new AuditExporter.Summary(4, 3, 6), exporter.export(3, 4, inside));
      Path toHead = dataDir.resolve("all.jsonl");
      // 9 is not covered yet: the exporter asks for a checkpoint (seq 10)
      assertEquals(new AuditExporter.Summary(10, 1, 10),
          exporter.export(1, Long.MAX_VALUE, toHead));

      AuditVerifier strict = AuditVerifier.trusting(keys.publicKeys().values());
      assertTrue(strict.verifyExport(inside).ok(), strict.verifyExport(inside).toString());
      assertTrue(strict.verifyExport(toHead).ok(), strict.verifyExport(toHead).toString());
      assertEquals(lines(toHead), lines(onlySegment(logDir)).subList(0, 10));
    }
  }

  private static int lastLineStart(byte[] bytes) {
    int i = bytes.length - 2; // skip the final newline
    while (i >= 0 && bytes[i] != '\n') {
      i--;
    }
    return i + 1;
  }
}
