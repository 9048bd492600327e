package io.perishable.controlplane.audit;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.TimeUnit;

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
 * with one write, calls {@code FileChannel.force(false)} once, and only then publishes the new
 * head and completes the batch's futures. Under load, one fsync covers thousands of records.
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
    /** Called once per batch, after the batch is written; {@code throughSeq} is its last. */
    void force(FileChannel channel, long throughSeq) throws IOException;
  }

  static final ForceHook FSYNC = (channel, throughSeq) -> channel.force(false);

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
  private final Recovery recovery;
  /** Segment files by first seq, for readers. */
  private final ConcurrentSkipListMap<Long, Path> segments = new ConcurrentSkipListMap<>();

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
   * long each batch's fsync took (for a latency metric; called on the writer thread: keep it
   * short).
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
        Pending first = queue.poll(idleWaitMs, TimeUnit.MILLISECONDS);
        if (first != null) {
          batch.add(first);
          queue.drainTo(batch, config.maxBatchRecords() - 1);
          batch.removeIf(p -> p == WAKE_UP);
        }
        if (!batch.isEmpty()) {
          writeBatch(batch, sealed);
        } else if (closing && queue.isEmpty()) {
          break;
        } else if (checkpointDueByTime()) {
          writeBatch(batch, sealed); // just the checkpoint
        }
      }
      if (sinceCheckpoint > 0) {
        batch.add(new Pending(null, new CompletableFuture<>()));
        writeBatch(batch, sealed);
      }
    } catch (InterruptedException e) {
      failure = e;
      Thread.currentThread().interrupt();
    } catch (IOException | RuntimeException e) {
      failure = e;
      LOG.log(System.Logger.Level.ERROR, "audit log write failed; the log has stopped", e);
      for (Pending p : batch) {
        p.future().completeExceptionally(unavailable());
      }
    } finally {
      stopped = true;
      failQueued();
    }
  }

  /** Seals, writes and fsyncs {@code batch} (plus any due checkpoint), then completes it. */
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
    forceHook.force(active, nextSeq - 1);
    head = new Head(nextSeq - 1, prev);
    for (int i = 0; i < batch.size(); i++) {
      batch.get(i).future().complete(sealed.get(i));
    }
    batch.clear();
    if (activeSize >= config.segmentBytes()) {
      startSegment(nextSeq);
    }
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

  /** Reads segment files line by line up to a head fixed when it was created. */
  private final class SegmentReader implements Reader {
    private final long through;
    private long nextSeq;
    private Long segmentKey;
    private InputStream in;
    private Path path;
    private long lineNo;
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
          in = Files.newInputStream(path);
          lineNo = 0;
        }
        if (!readLine()) {
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

    private AuditLogCorruptedException corrupted(long seq, String why) {
      return new AuditLogCorruptedException(seq, path, lineNo, why, "");
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
