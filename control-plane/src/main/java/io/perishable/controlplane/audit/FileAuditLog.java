package io.perishable.controlplane.audit;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import javax.annotation.concurrent.GuardedBy;

/**
 * The embedded audit log: segment files of export lines under one directory, one writer thread,
 * group commit.
 *
 * <p><b>Files.</b> {@code audit-<first seq, 20 digits>.jsonl}: each line is a record's export
 * line (docs/audit-log.md), so a segment, or the segments concatenated, <em>is</em> a JSONL
 * export and verifies with the same tools. A new segment starts once one reaches {@link
 * FileAuditLogConfig#segmentBytes()}. A {@code LOCK} file keeps a second process out.
 *
 * <p><b>Group commit.</b> {@link #append} validates and copies the draft, then puts it on a
 * bounded queue; when the queue is full the producer blocks up to {@link
 * FileAuditLogConfig#enqueueTimeout()} and then gets a future failed with {@link
 * AuditLogFullException} (never a silent drop). The single writer thread drains up to {@link
 * FileAuditLogConfig#maxBatchRecords()} drafts, seals them (seq, time, chain hash), writes them
 * with one write and hands the batch to an fsync thread, which calls {@code
 * FileChannel.force(false)} once for it; only then, and only once every earlier batch is durable
 * too, are the new head published and the batch's futures completed (in order). Up to {@link
 * #SYNCS_IN_FLIGHT} batches are written and not yet durable at once: while one waits for the
 * disk the writer writes the next, instead of leaving every append that arrived meanwhile to
 * wait for a whole fsync before its own starts (on a disk where an fsync takes milliseconds,
 * that wait, not the CPU, bounds how many waiting callers are answered per second). With every
 * slot taken the writer takes nothing off the queue, so a stuck disk still fills the queue and
 * makes producers wait. Under load, one fsync covers thousands of records.
 *
 * <p><b>Checkpoints.</b> After every {@link FileAuditLogConfig#checkpointEveryRecords()}
 * records, when {@link FileAuditLogConfig#checkpointInterval()} has passed with records
 * uncovered, on {@link #checkpoint()}, and on {@link #close()}, the writer appends a {@code
 * CHECKPOINT} record that signs the head with the {@link CheckpointKeys} key.
 *
 * <p><b>Opening</b> reads and verifies every segment (format, seqs, hashes, checkpoint
 * signatures by the trusted checkpoint keys) and continues the chain from its head. A torn
 * final line (a crash mid-write) or any bad record makes it refuse with {@link
 * AuditLogCorruptedException} naming the first bad seq, unless {@link
 * FileAuditLogConfig#quarantineDamagedTail()} is set: then everything from that record on is
 * moved to {@code <segment>.damaged-<time ms>} side files, the segment is truncated to its good
 * part, and {@link #recovery()} (and a WARNING log line) says what was moved. The chain then
 * continues from the last good record, so the seqs in the side files are given out again.
 *
 * <p>An I/O error while writing stops the log for good: the batch's futures and every later
 * append fail with {@link AuditLogUnavailableException}. Reopening recovers and verifies.
 */
public final class FileAuditLog implements AuditLog {
  private static final System.Logger LOG = System.getLogger(FileAuditLog.class.getName());

  /** Makes written bytes durable; tests substitute one that counts or blocks. */
  interface ForceHook {
    /**
     * Called once per batch, after the batch is written; {@code throughSeq} is its last. Runs
     * on an fsync thread, for up to {@link #SYNCS_IN_FLIGHT} batches at once.
     */
    void force(FileChannel channel, long throughSeq) throws IOException;
  }

  static final ForceHook FSYNC = (channel, throughSeq) -> channel.force(false);

  /** Batches written and not yet durable at once, at most. */
  static final int SYNCS_IN_FLIGHT = 4;

  /**
   * What opening found and did.
   *
   * @param records good records found (including checkpoints)
   * @param quarantined empty if the log verified; else why and where it stopped, and the side
   *     files that now hold the damaged tail
   */
  public record Recovery(long records, Head head, Optional<Quarantine> quarantined) {}

  /**
   * A damaged tail moved aside on open.
   *
   * @param firstBadSeq the seq of the first bad (or missing) record
   * @param reason why it was bad
   * @param sideFiles the files now holding the moved bytes
   * @param bytesMoved how many bytes were moved
   */
  public record Quarantine(long firstBadSeq, String reason, List<Path> sideFiles,
      long bytesMoved) {}

  /** A draft waiting for the writer; a null draft asks for a checkpoint. */
  private record Pending(AuditRecord.Builder draft, CompletableFuture<AuditRecord> future) {}

  /** A written batch waiting for its fsync; completed in order once it and all before it are. */
  private static final class Batch {
    final List<Pending> pending;
    final List<AuditRecord> sealed;
    final Head head;
    final FileChannel channel;
    boolean forced;

    Batch(List<Pending> pending, List<AuditRecord> sealed, Head head, FileChannel channel) {
      this.pending = pending;
      this.sealed = sealed;
      this.head = head;
      this.channel = channel;
    }
  }

  /** Put on the queue by {@link #close()} so an idle writer notices at once. */
  private static final Pending WAKE_UP = new Pending(null, new CompletableFuture<>());

  private final FileAuditLogConfig config;
  private final CheckpointKeys keys;
  private final Clock clock;
  private final ForceHook forceHook;
  private final Path dir;
  private final FileChannel lockChannel;
  private final FileLock lock;
  private final BlockingQueue<Pending> queue;
  private final Thread writer;
  private final ExecutorService syncers;
  /** One permit per batch that may be written and not yet completed (or failed) at once. */
  private final Semaphore syncSlots = new Semaphore(SYNCS_IN_FLIGHT);
  /** Written batches not yet completed, oldest first. */
  @GuardedBy("inFlight")
  private final ArrayDeque<Batch> inFlight = new ArrayDeque<>();
  private final Recovery recovery;
  /** Segment files by first seq, for readers. */
  private final ConcurrentSkipListMap<Long, Path> segments = new ConcurrentSkipListMap<>();
  /**
   * Seek points for readers: where the line of every checkpoint and of every {@link
   * #SEEK_EVERY}-th seq starts, as a byte offset in its segment. A hint only: a reader checks
   * that the line there carries that seq, and reads the segment from its start if not.
   */
  private final ConcurrentSkipListMap<Long, Long> seekPoints = new ConcurrentSkipListMap<>();

  /** Seqs between seek points: a reader skips at most this many lines before its seq. */
  static final long SEEK_EVERY = 1024;

  private volatile Head head;
  private volatile boolean closing;
  private volatile boolean stopped;
  private volatile Throwable failure;

  // Writer thread only, after the constructor.
  private final ChainHasher hasher = new ChainHasher();
  private final CanonicalJson.Sink buf = new CanonicalJson.Sink(1 << 20);
  private FileChannel active;
  private long activeSize;
  private long nextSeq;
  private ChainHash prev;
  private long lastTimeMs;
  private long sinceCheckpoint;
  private long lastCheckpointTimeMs;

  private FileAuditLog(FileAuditLogConfig config, CheckpointKeys keys, Clock clock,
      ForceHook forceHook) throws IOException {
    this.config = config.validate();
    this.keys = keys;
    this.clock = clock;
    this.forceHook = forceHook;
    this.dir = config.directory();
    Files.createDirectories(dir);
    this.lockChannel = FileChannel.open(dir.resolve("LOCK"), StandardOpenOption.CREATE,
        StandardOpenOption.WRITE);
    FileLock l;
    try {
      l = lockChannel.tryLock();
    } catch (java.nio.channels.OverlappingFileLockException e) {
      l = null; // this JVM already has it open
    } catch (IOException | RuntimeException e) {
      lockChannel.close();
      throw e;
    }
    if (l == null) {
      lockChannel.close();
      throw new IllegalStateException("audit log " + dir + " is in use by another process");
    }
    this.lock = l;
    try {
      this.recovery = recover();
    } catch (IOException | RuntimeException e) {
      closeQuietly();
      throw e;
    }
    this.head = recovery.head();
    this.queue = new ArrayBlockingQueue<>(config.queueCapacity());
    this.syncers = Executors.newFixedThreadPool(SYNCS_IN_FLIGHT, r -> {
      Thread t = new Thread(r, "audit-log-fsync");
      t.setDaemon(true);
      return t;
    });
    this.writer = new Thread(this::writeLoop, "audit-log-writer");
    writer.setDaemon(true);
    writer.start();
  }

  /**
   * Opens (creating if needed) the log in {@link FileAuditLogConfig#directory()}, verifying what
   * is there; see the class comment for what happens on damage.
   *
   * @param keys the checkpoint keys: they sign new checkpoints and verify the stored ones
   * @param clock gives each record its time (never decreasing along the chain)
   * @throws AuditLogCorruptedException if the stored log does not verify and quarantine is off
   * @throws UncheckedIOException if the directory cannot be read or written
   */
  public static FileAuditLog open(FileAuditLogConfig config, CheckpointKeys keys, Clock clock) {
    return open(config, keys, clock, FSYNC);
  }

  /**
   * As {@link #open(FileAuditLogConfig, CheckpointKeys, Clock)}, and tells {@code fsyncNanos} how
   * long each batch's fsync took (for a latency metric; called on the fsync threads, up to
   * {@link #SYNCS_IN_FLIGHT} at once: keep it short and thread-safe).
   */
  public static FileAuditLog open(FileAuditLogConfig config, CheckpointKeys keys, Clock clock,
      java.util.function.LongConsumer fsyncNanos) {
    return open(config, keys, clock, (channel, throughSeq) -> {
      long start = System.nanoTime();
      FSYNC.force(channel, throughSeq);
      fsyncNanos.accept(System.nanoTime() - start);
    });
  }

  static FileAuditLog open(FileAuditLogConfig config, CheckpointKeys keys, Clock clock,
      ForceHook forceHook) {
    try {
      return new FileAuditLog(config, keys, clock, forceHook);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot open audit log in " + config.directory(), e);
    }
  }

  /** What opening found, and what it moved aside if it quarantined a damaged tail. */
  public Recovery recovery() {
    return recovery;
  }

  public Path directory() {
    return dir;
  }

  @Override
  public CompletableFuture<AuditRecord> append(AuditRecord.Builder draft) {
    if (draft.type() == AuditEventType.CHECKPOINT) {
      throw new IllegalArgumentException("checkpoint records are written by the log itself");
    }
    return enqueue(draft.snapshot());
  }

  @Override
  public CompletableFuture<AuditRecord> checkpoint() {
    return enqueue(null);
  }

  private CompletableFuture<AuditRecord> enqueue(AuditRecord.Builder draft) {
    CompletableFuture<AuditRecord> future = new CompletableFuture<>();
    if (closing || failure != null) {
      future.completeExceptionally(unavailable());
      return future;
    }
    Pending p = new Pending(draft, future);
    try {
      if (!queue.offer(p, config.enqueueTimeout().toNanos(), TimeUnit.NANOSECONDS)) {
        future.completeExceptionally(new AuditLogFullException("audit log queue full: "
            + config.queueCapacity() + " appends waiting for " + config.enqueueTimeout()
            + "; the record was not appended"));
        return future;
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      future.completeExceptionally(new AuditLogUnavailableException(
          "interrupted while waiting for room in the audit log queue", e));
      return future;
    }
    if (stopped) {
      failQueued(); // the writer is gone; nobody else will complete it
    }
    return future;
  }

  private AuditLogUnavailableException unavailable() {
    Throwable f = failure;
    return f != null
        ? new AuditLogUnavailableException("audit log stopped after an I/O error: " + f, f)
        : new AuditLogUnavailableException("audit log is closed", null);
  }

  private void failQueued() {
    Pending p;
    while ((p = queue.poll()) != null) {
      if (p != WAKE_UP) {
        p.future().completeExceptionally(unavailable());
      }
    }
  }

  @Override
  public Head head() {
    return head;
  }

  @Override
  public void close() {
    closing = true;
    queue.offer(WAKE_UP); // if the queue is full, the writer is busy and sees closing soon
    try {
      writer.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    closeQuietly();
  }

  private void closeQuietly() {
    if (syncers != null) {
      syncers.shutdown();
    }
    try {
      if (active != null) {
        active.close();
      }
    } catch (IOException e) {
      LOG.log(System.Logger.Level.WARNING, "closing audit segment failed", e);
    }
    try {
      lock.release();
      lockChannel.close();
    } catch (IOException e) {
      LOG.log(System.Logger.Level.WARNING, "releasing audit log lock failed", e);
    }
  }

  // ---------------------------------------------------------------- writer thread

  private void writeLoop() {
    List<Pending> batch = new ArrayList<>(config.maxBatchRecords());
    List<AuditRecord> sealed = new ArrayList<>(config.maxBatchRecords());
    long idleWaitMs = Math.max(1, Math.min(config.checkpointInterval().toMillis(), 1000));
    try {
      while (true) {
        // Take appends off the queue only with a free fsync slot: while every slot is busy, the
        // queue fills, and a full queue is what makes producers wait (and then fail).
        syncSlots.acquire();
        boolean handedOver = false;
        try {
          Pending first = queue.poll(idleWaitMs, TimeUnit.MILLISECONDS);
          if (first != null) {
            batch.add(first);
            queue.drainTo(batch, config.maxBatchRecords() - 1);
            batch.removeIf(p -> p == WAKE_UP);
          }
          if (failure != null) {
            break; // an fsync failed; the finally blocks fail what is left
          }
          if (!batch.isEmpty()) {
            writeBatch(batch, sealed);
            handedOver = true;
          } else if (closing && queue.isEmpty()) {
            break;
          } else if (checkpointDueByTime()) {
            writeBatch(batch, sealed); // just the checkpoint
            handedOver = true;
          }
        } finally {
          if (!handedOver) {
            syncSlots.release();
          }
        }
        rollSegmentIfFull();
      }
      if (sinceCheckpoint > 0 && failure == null) {
        syncSlots.acquire();
        batch.add(new Pending(null, new CompletableFuture<>()));
        boolean handedOver = false;
        try {
          writeBatch(batch, sealed);
          handedOver = true;
        } finally {
          if (!handedOver) {
            syncSlots.release();
          }
        }
      }
    } catch (InterruptedException e) {
      stop(e);
      Thread.currentThread().interrupt();
    } catch (IOException | RuntimeException e) {
      LOG.log(System.Logger.Level.ERROR, "audit log write failed; the log has stopped", e);
      stop(e);
    } finally {
      // Every written batch has been completed or failed.
      syncSlots.acquireUninterruptibly(SYNCS_IN_FLIGHT);
      syncSlots.release(SYNCS_IN_FLIGHT);
      for (Pending p : batch) {
        p.future().completeExceptionally(unavailable());
      }
      stopped = true;
      failQueued();
    }
  }

  /** Stops the log after {@code cause}: fails every written batch not yet completed. */
  private void stop(Throwable cause) {
    List<Batch> failed;
    synchronized (inFlight) {
      if (failure == null) {
        failure = cause;
      }
      failed = new ArrayList<>(inFlight);
      inFlight.clear();
    }
    for (Batch b : failed) {
      for (Pending p : b.pending) {
        p.future().completeExceptionally(unavailable());
      }
    }
    syncSlots.release(failed.size());
  }

  /**
   * Seals and writes {@code batch} (plus any due checkpoint) and hands it, with the fsync slot
   * the caller holds, to an fsync thread, which completes it. If this throws, the batch was not
   * handed over: it is still in {@code batch}, and the slot still the caller's.
   */
  private void writeBatch(List<Pending> batch, List<AuditRecord> sealed) throws IOException {
    buf.length = 0;
    sealed.clear();
    for (Pending p : batch) {
      if (p.draft() == null) {
        sealed.add(sealCheckpoint());
      } else {
        sealed.add(seal(p.draft()));
        if (sinceCheckpoint >= config.checkpointEveryRecords()) {
          sealCheckpoint();
        }
      }
    }
    if (checkpointDueByTime()) {
      sealCheckpoint();
    }
    ByteBuffer bytes = ByteBuffer.wrap(buf.bytes, 0, buf.length);
    while (bytes.hasRemaining()) {
      active.write(bytes);
    }
    activeSize += buf.length;
    Batch written = new Batch(new ArrayList<>(batch), new ArrayList<>(sealed),
        new Head(nextSeq - 1, prev), active);
    synchronized (inFlight) {
      if (failure != null) {
        throw new IOException("an earlier fsync failed", failure);
      }
      inFlight.add(written);
    }
    batch.clear();
    syncers.execute(() -> force(written));
  }

  /** Starts a new segment once the active one is full, after its fsyncs have returned. */
  private void rollSegmentIfFull() throws IOException, InterruptedException {
    if (activeSize < config.segmentBytes()) {
      return;
    }
    // Every written batch completed, so no fsync uses the channel that is about to close.
    syncSlots.acquire(SYNCS_IN_FLIGHT);
    try {
      startSegment(nextSeq);
    } finally {
      syncSlots.release(SYNCS_IN_FLIGHT);
    }
  }

  /**
   * On an fsync thread: makes {@code batch} durable, then completes every batch at the front of
   * {@link #inFlight} that is durable, in order, and publishes the head. A later batch's fsync
   * also covers the bytes of earlier ones, but completion waits for each batch's own.
   */
  private void force(Batch batch) {
    try {
      forceHook.force(batch.channel, batch.head.seq());
    } catch (IOException | RuntimeException e) {
      LOG.log(System.Logger.Level.ERROR, "audit log fsync failed; the log has stopped", e);
      stop(e);
      return;
    }
    int completed = 0;
    synchronized (inFlight) {
      if (failure != null) {
        return; // stop() failed it and freed its slot
      }
      batch.forced = true;
      // In order, under the lock: callbacks run here and must not block (as when they ran on
      // the writer thread).
      while (!inFlight.isEmpty() && inFlight.peekFirst().forced) {
        Batch b = inFlight.pollFirst();
        head = b.head;
        for (int i = 0; i < b.pending.size(); i++) {
          b.pending.get(i).future().complete(b.sealed.get(i));
        }
        completed++;
      }
    }
    syncSlots.release(completed);
  }

  private boolean checkpointDueByTime() {
    return sinceCheckpoint > 0
        && clock.millis() - lastCheckpointTimeMs >= config.checkpointInterval().toMillis();
  }

  /** Appends the export line of the next record to {@link #buf}; returns the sealed record. */
  private AuditRecord seal(AuditRecord.Builder draft) {
    long seq = nextSeq;
    long timeMs = Math.max(clock.millis(), lastTimeMs);
    int start = buf.length;
    CanonicalJson.writeCanonical(buf, draft.build(seq, timeMs, prev, ChainHash.GENESIS));
    ChainHash hash = hasher.next(prev, buf.bytes, start, buf.length - start, -1);
    buf.length--; // the closing brace: the export line puts the hashes before it
    CanonicalJson.writeHashes(buf, prev, hash);
    buf.add('\n');
    AuditRecord record = draft.build(seq, timeMs, prev, hash);
    if (seq % SEEK_EVERY == 0 || draft.type() == AuditEventType.CHECKPOINT) {
      seekPoints.put(seq, activeSize + start); // written before any reader can reach seq
    }
    nextSeq = seq + 1;
    prev = hash;
    lastTimeMs = timeMs;
    if (draft.type() == AuditEventType.CHECKPOINT) {
      sinceCheckpoint = 0;
      lastCheckpointTimeMs = timeMs;
    } else {
      sinceCheckpoint++;
    }
    return record;
  }

  private AuditRecord sealCheckpoint() {
    long headSeq = nextSeq - 1;
    return seal(AuditRecord.builder(AuditEventType.CHECKPOINT)
        .checkpointSeq(headSeq)
        .checkpointHash(prev)
        .keyId(keys.currentKeyId())
        .signature(keys.sign(headSeq, prev)));
  }

  /** Closes the active segment (already durable) and starts {@code audit-<firstSeq>.jsonl}. */
  private void startSegment(long firstSeq) throws IOException {
    if (active != null) {
      active.close();
    }
    Path path = dir.resolve(Segments.name(firstSeq));
    active = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
    activeSize = active.size();
    active.position(activeSize);
    syncDirectory();
    segments.put(firstSeq, path);
  }

  /** Makes a created, renamed or removed file's directory entry durable. */
  private void syncDirectory() throws IOException {
    try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
      d.force(true);
    } catch (IOException e) {
      // Some platforms cannot open a directory; the data itself is fsynced regardless.
      LOG.log(System.Logger.Level.DEBUG, "directory fsync not supported: " + e);
    }
  }

  // ---------------------------------------------------------------- opening

  /** Where verification stopped. */
  private record Bad(int segment, long offset, long line, long seq, String reason) {}

  private Recovery recover() throws IOException {
    List<Segments.Segment> segs = Segments.list(dir);
    ChainVerifier chain = new ChainVerifier(keys.publicKeys().values(), true);
    Bad bad = null;
    try (ChainScan scan = ChainScan.parallel(chain)) {
      scan.recordSeekPoints(seekPoints, SEEK_EVERY);
      for (int i = 0; i < segs.size() && bad == null; i++) {
        Segments.Segment s = segs.get(i);
        long expected = chain.expectedSeq();
        if (s.firstSeq() != expected && Files.size(s.path()) > 0) {
          bad = new Bad(i, 0, 1, expected, "segment " + s.path().getFileName()
              + " is named for seq " + s.firstSeq() + " but the chain continues at " + expected);
          break;
        }
        try (InputStream in = Files.newInputStream(s.path())) {
          ChainScan.Bad b = scan.scan(in);
          if (b != null) {
            bad = new Bad(i, b.offset(), b.lineNo(), b.seq(), b.reason());
          }
        }
      }
    }
    Optional<Quarantine> quarantine = Optional.empty();
    if (bad != null) {
      Segments.Segment s = segs.get(bad.segment());
      if (!config.quarantineDamagedTail()) {
        throw new AuditLogCorruptedException(bad.seq(), s.path(), bad.line(), bad.reason(),
            "refusing to open; " + chain.records + " good record(s) precede it. To keep them"
                + " and move everything from seq " + bad.seq() + " on to a side file, reopen"
                + " with quarantineDamagedTail");
      }
      quarantine = Optional.of(quarantine(segs, bad));
      segs = Segments.list(dir);
    }
    nextSeq = chain.lastSeq + 1;
    prev = chain.head();
    lastTimeMs = chain.lastTimeMs;
    sinceCheckpoint = chain.checkpoints == 0 ? chain.records : chain.recordsSinceCheckpoint;
    lastCheckpointTimeMs = chain.checkpoints == 0 ? clock.millis() : chain.lastCheckpointTimeMs;
    for (Segments.Segment s : segs) {
      segments.put(s.firstSeq(), s.path());
    }
    Map.Entry<Long, Path> last = segments.lastEntry();
    if (last != null && Files.size(last.getValue()) == 0 && last.getKey() != nextSeq) {
      Files.delete(last.getValue()); // an empty segment under a name the chain no longer fits
      segments.remove(last.getKey());
      last = segments.lastEntry();
    }
    startSegment(last == null ? nextSeq : last.getKey());
    return new Recovery(chain.records, new Head(chain.lastSeq, chain.head()), quarantine);
  }

  private Quarantine quarantine(List<Segments.Segment> segs, Bad bad) throws IOException {
    String suffix = ".damaged-" + clock.millis();
    List<Path> sideFiles = new ArrayList<>();
    long moved = 0;
    Segments.Segment damaged = segs.get(bad.segment());
    Path side = damaged.path().resolveSibling(damaged.path().getFileName() + suffix);
    try (FileChannel from = FileChannel.open(damaged.path(), StandardOpenOption.READ,
        StandardOpenOption.WRITE);
        FileChannel to = FileChannel.open(side, StandardOpenOption.CREATE_NEW,
            StandardOpenOption.WRITE)) {
      long size = from.size();
      long pos = bad.offset();
      while (pos < size) {
        pos += from.transferTo(pos, size - pos, to);
      }
      to.force(true);
      moved += size - bad.offset();
      from.truncate(bad.offset());
      from.force(true);
    }
    sideFiles.add(side);
    for (int i = bad.segment() + 1; i < segs.size(); i++) {
      Path p = segs.get(i).path();
      Path target = p.resolveSibling(p.getFileName() + suffix);
      moved += Files.size(p);
      Files.move(p, target);
      sideFiles.add(target);
    }
    syncDirectory();
    Quarantine q = new Quarantine(bad.seq(), bad.reason(), List.copyOf(sideFiles), moved);
    LOG.log(System.Logger.Level.WARNING, "audit log " + dir + " was damaged at seq " + bad.seq()
        + " (" + bad.reason() + "); quarantined " + moved + " byte(s) from there on into "
        + sideFiles + "; the chain continues from seq " + (bad.seq() - 1));
    return q;
  }

  // ---------------------------------------------------------------- reading

  @Override
  public Reader readFrom(long seq) {
    if (seq < 1) {
      throw new IllegalArgumentException("seq starts at 1, got " + seq);
    }
    return new SegmentReader(seq, head.seq());
  }

  /** The seek points (seq to byte offset in its segment), for tests. */
  Map<Long, Long> seekPoints() {
    return seekPoints;
  }

  /**
   * Reads segment files line by line up to a head fixed when it was created. In its first
   * segment it starts at the nearest seek point at or before its first seq, if the line there
   * carries that seek point's seq; otherwise (a wrong offset) it reads the segment from its
   * start, as it does every later segment.
   */
  private final class SegmentReader implements Reader {
    private final long through;
    private long nextSeq;
    private Long segmentKey;
    private InputStream in;
    private Path path;
    /** Line number of the last line read; after a seek, counted from the seek point. */
    private long lineNo;
    /** The seq the first line read must carry after a seek; -1 when not seeking. */
    private long seekSeq = -1;
    /** Where a seek started (0 without one): line numbers count from there. */
    private long seekOffset;
    private boolean triedSeek;
    private final CanonicalJson.Sink line = new CanonicalJson.Sink(512);
    private final CanonicalJson.Sink scratch = new CanonicalJson.Sink(512);
    private final byte[] chunk = new byte[64 << 10];
    private int pos;
    private int lim;
    private AuditRecord ahead;

    SegmentReader(long from, long through) {
      this.nextSeq = from;
      this.through = through;
      this.segmentKey = segments.floorKey(from);
    }

    @Override
    public boolean hasNext() {
      if (ahead != null) {
        return true;
      }
      if (nextSeq > through) {
        return false;
      }
      try {
        ahead = readNext();
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read audit log " + path, e);
      }
      return true;
    }

    @Override
    public AuditRecord next() {
      if (!hasNext()) {
        throw new NoSuchElementException();
      }
      AuditRecord r = ahead;
      ahead = null;
      nextSeq = r.seq() + 1;
      return r;
    }

    private AuditRecord readNext() throws IOException {
      while (true) {
        if (in == null) {
          if (segmentKey == null) {
            throw corrupted(nextSeq, "segment missing");
          }
          path = segments.get(segmentKey);
          open();
        }
        if (seekSeq >= 0) {
          if (!seekLanded()) {
            in.close(); // a wrong seek point: read the segment from its start instead
            in = Files.newInputStream(path);
            seekSeq = -1;
            seekOffset = 0;
            lineNo = 0;
            pos = 0;
            lim = 0;
            continue;
          }
          seekSeq = -1;
        } else if (!readLine()) {
          in.close();
          in = null;
          segmentKey = segments.higherKey(segmentKey);
          continue;
        }
        long seq = CanonicalJson.peekSeq(line.bytes, 0, line.length);
        if (seq >= 0 && seq < nextSeq) {
          continue;
        }
        CanonicalJson.Parsed parsed;
        try {
          parsed = CanonicalJson.parseLine(line.bytes, 0, line.length, scratch);
        } catch (CanonicalJson.Malformed e) {
          throw corrupted(nextSeq, e.getMessage());
        }
        if (parsed.record().seq() != nextSeq) {
          throw corrupted(nextSeq, "seq gap: expected " + nextSeq + " got "
              + parsed.record().seq());
        }
        return parsed.record();
      }
    }

    /** Opens {@link #path}, at the seek point for {@link #nextSeq} if it has one. */
    private void open() throws IOException {
      lineNo = 0;
      seekOffset = 0;
      seekSeq = -1;
      Map.Entry<Long, Long> seek = triedSeek ? null : seekPoints.floorEntry(nextSeq);
      triedSeek = true;
      if (seek != null && seek.getKey() > segmentKey && seek.getValue() > 0) {
        FileChannel channel = FileChannel.open(path, StandardOpenOption.READ);
        try {
          if (seek.getValue() < channel.size()) {
            channel.position(seek.getValue());
            in = Channels.newInputStream(channel);
            seekSeq = seek.getKey();
            seekOffset = seek.getValue();
            return;
          }
        } catch (IOException | RuntimeException e) {
          channel.close();
          throw e;
        }
        channel.close(); // beyond the end: not a seek point of this file
      }
      in = Files.newInputStream(path);
    }

    /** Reads the first line after a seek: whether it is whole and carries {@link #seekSeq}. */
    private boolean seekLanded() throws IOException {
      try {
        return readLine() && CanonicalJson.peekSeq(line.bytes, 0, line.length) == seekSeq;
      } catch (AuditLogCorruptedException e) {
        return false; // a torn line: not where a record starts
      }
    }

    private AuditLogCorruptedException corrupted(long seq, String why) {
      long line = lineNo;
      if (seekOffset > 0) {
        try {
          line += countLines(path, seekOffset); // the lines before the seek point
        } catch (IOException e) {
          why += " (line number unknown: " + e.getMessage() + ")";
        }
      }
      return new AuditLogCorruptedException(seq, path, line, why, "");
    }

    /** Reads one newline-terminated line into {@link #line}; false at end of file. */
    private boolean readLine() throws IOException {
      line.length = 0;
      while (true) {
        if (pos == lim) {
          lim = in.read(chunk);
          pos = 0;
          if (lim <= 0) {
            lim = 0;
            if (line.length > 0) {
              throw corrupted(nextSeq, "truncated record");
            }
            return false;
          }
        }
        int start = pos;
        while (pos < lim && chunk[pos] != '\n') {
          pos++;
        }
        line.add(chunk, start, pos - start);
        if (pos < lim) {
          pos++;
          lineNo++;
          return true;
        }
      }
    }

    /** The number of newlines in the first {@code bytes} bytes of {@code file}. */
    private static long countLines(Path file, long bytes) throws IOException {
      long lines = 0;
      byte[] b = new byte[64 << 10];
      try (InputStream s = Files.newInputStream(file)) {
        long left = bytes;
        while (left > 0) {
          int n = s.read(b, 0, (int) Math.min(b.length, left));
          if (n < 0) {
            break;
          }
          for (int i = 0; i < n; i++) {
            if (b[i] == '\n') {
              lines++;
            }
          }
          left -= n;
        }
      }
      return lines;
    }

    @Override
    public void close() {
      try {
        if (in != null) {
          in.close();
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }
}
