package io.perishable.authz.report;

import com.google.protobuf.InvalidProtocolBufferException;
import io.perishable.proto.v1.DecisionReport;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.stream.Stream;
import java.util.zip.CRC32C;
import javax.annotation.concurrent.GuardedBy;

/**
 * The replica's on-disk queue of decisions not yet acknowledged by the control plane.
 *
 * <p><b>Files.</b> Under one directory: {@code LOCK} (locked while a process has the spool
 * open), {@code spool-id} (random, written once; names this spool's seq space to the control
 * plane) and segment files {@code decisions-<first seq, 20
 * digits>.spool}. Each entry is {@code [u32 length][u32 CRC32C][u64 seq][DecisionReport bytes
 * without seq]}; length counts seq and report bytes, the CRC covers the same bytes.
 *
 * <p><b>Durability.</b> {@link #append} writes the entry with one {@code write(2)} before it
 * returns: it is then in the page cache and survives a kill -9 of the process. {@link #sync}
 * (called in the background every {@link ReportConfig#fsyncInterval()}) fsyncs it, which makes
 * it survive a power loss too. The write runs on the listener's thread, after Envoy has its
 * answer.
 *
 * <p><b>Seqs</b> count from 1 per spool, without gaps, and continue after a restart: the newest
 * segment is never deleted, and its name and entries give the next seq.
 *
 * <p><b>Opening</b> scans every segment, checking length, CRC and seq of each entry; a torn or
 * damaged entry (a crash mid-write, a bad disk block) and everything after it in that segment is
 * truncated away, with a WARNING naming how many bytes. Every entry found is unacknowledged
 * (acks are not persisted: the control plane de-duplicates what it already has), and writing
 * continues in a fresh segment.
 *
 * <p><b>Capacity</b> is the sum of the segment files' sizes; a segment is deleted once every
 * entry in it is {@linkplain #ack acked} and a newer segment exists.
 *
 * <p>Thread-safe: appends from any number of listener threads, reads and acks from the sender,
 * sync from the flusher.
 */
final class Spool implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(Spool.class.getName());
  static final String ID_FILE = "spool-id";
  /** Held (an OS file lock) while a process has the spool open; the OS drops it on a kill. */
  static final String LOCK_FILE = "LOCK";
  private static final String PREFIX = "decisions-";
  private static final String SUFFIX = ".spool";
  private static final int HEADER_BYTES = 16;
  /** No decision report comes near this; a larger length field means damage. */
  private static final int MAX_ENTRY_BYTES = 1 << 20;

  /** One segment file; its size only grows, under the spool's lock. */
  private static final class Segment {
    final long firstSeq;
    final Path path;
    long bytes;
    /** The seq of its last entry, or firstSeq - 1 if it has none. */
    long lastSeq;

    Segment(long firstSeq, Path path, long bytes, long lastSeq) {
      this.firstSeq = firstSeq;
      this.path = path;
      this.bytes = bytes;
      this.lastSeq = lastSeq;
    }
  }

  /**
   * Where the sender's next read starts.
   *
   * @param segmentFirstSeq the segment to read
   * @param offset byte offset of the next entry in it
   * @param nextSeq the seq expected there
   */
  record Cursor(long segmentFirstSeq, long offset, long nextSeq) {}

  /**
   * Entries read, in seq order, and where to continue.
   *
   * @param reports each with its seq set
   */
  record Batch(List<DecisionReport> reports, Cursor next) {
    boolean isEmpty() {
      return reports.isEmpty();
    }

    long lastSeq() {
      return reports.get(reports.size() - 1).getSeq();
    }
  }

  /**
   * What opening found.
   *
   * @param entries unacknowledged decisions found in the segments (all of them: acks are not
   *     persisted)
   * @param truncatedBytes bytes of torn or damaged entries cut away
   */
  record Recovery(long entries, long truncatedBytes) {}

  private final FileChannel lockFile;
  private final Path directory;
  private final String spoolId;
  private final long capacityBytes;
  private final long highWaterBytes;
  private final long segmentBytes;
  private final SpoolFullPolicy whenFull;
  private final Recovery recovery;
  private final Runnable onAppend;
  private final AtomicLong unrecorded = new AtomicLong();

  private final Object lock = new Object();

  @GuardedBy("lock")
  private final TreeMap<Long, Segment> segments = new TreeMap<>();

  @GuardedBy("lock")
  private Segment current;

  /**
   * The newest segment, open for appending. A stream, not a FileChannel: an interrupt of the
   * writing thread (a listener's, which we do not own) would close a FileChannel under every
   * later append; a FileOutputStream write or fsync ignores interrupts.
   */
  @GuardedBy("lock")
  private FileOutputStream out;

  /** Rolled segments, waiting for their final fsync by {@link #sync}. */
  @GuardedBy("lock")
  private final List<FileOutputStream> retired = new ArrayList<>();

  @GuardedBy("lock")
  private boolean directoryDirty;

  @GuardedBy("lock")
  private long nextSeq;

  /** {@code nextSeq - 1}, for {@link #lastSeq()} without the lock (the sender asks per wake). */
  private volatile long lastSeq;

  @GuardedBy("lock")
  private long ackedThrough;

  @GuardedBy("lock")
  private long usedBytes;

  @GuardedBy("lock")
  private long syncedThrough;

  /** Set on a write error: nothing more is recorded until a restart. */
  @GuardedBy("lock")
  private IOException broken;

  @GuardedBy("lock")
  private boolean closed;

  /** What {@link #acceptingDecisions()} answers: read per request, so kept outside the lock. */
  private volatile boolean accepting = true;

  /** Reused checksum for the entry being written. */
  @GuardedBy("lock")
  private final CRC32C crc = new CRC32C();

  /** Serializes {@link #sync} (the flusher's and close's). */
  private final Object syncLock = new Object();

  private Spool(Path directory, String spoolId, ReportConfig config, Runnable onAppend,
      TreeMap<Long, Segment> found, Recovery recovery, FileChannel lockFile)
      throws IOException {
    this.lockFile = lockFile;
    this.directory = directory;
    this.spoolId = spoolId;
    this.capacityBytes = config.spoolCapacityBytes();
    this.highWaterBytes = capacityBytes - config.reserveBytes();
    this.segmentBytes = config.segmentBytes();
    this.whenFull = config.whenSpoolFull();
    this.onAppend = onAppend;
    this.recovery = recovery;
    synchronized (lock) {
      segments.putAll(found);
      long next = 1;
      for (Segment s : found.values()) {
        usedBytes += s.bytes;
        next = Math.max(next, s.lastSeq + 1);
      }
      nextSeq = next;
      lastSeq = next - 1;
      ackedThrough = found.isEmpty() ? next - 1 : found.firstKey() - 1;
      syncedThrough = next - 1;
      Segment last = found.isEmpty() ? null : found.lastEntry().getValue();
      if (last != null && last.bytes == 0 && last.firstSeq == next) {
        current = last;
        out = new FileOutputStream(last.path.toFile(), true);
      } else {
        startSegment();
      }
      updateAccepting();
    }
  }

  /**
   * Opens (creating if needed) the spool in {@link ReportConfig#spoolDirectory()}, recovering
   * what a previous process left.
   *
   * @param onAppend run after each recorded append (wakes the sender); must be cheap
   */
  static Spool open(ReportConfig config, Runnable onAppend) throws IOException {
    Path dir = config.spoolDirectory();
    Files.createDirectories(dir);
    FileChannel lockFile = FileChannel.open(dir.resolve(LOCK_FILE), StandardOpenOption.CREATE,
        StandardOpenOption.WRITE);
    FileLock held;
    try {
      held = lockFile.tryLock();
    } catch (OverlappingFileLockException e) {
      held = null;
    }
    if (held == null) {
      lockFile.close();
      throw new IOException("report spool " + dir + " is in use by another process; each"
          + " replica needs its own spool directory");
    }
    try {
      return open(config, onAppend, dir, lockFile);
    } catch (IOException | RuntimeException e) {
      lockFile.close();
      throw e;
    }
  }

  private static Spool open(ReportConfig config, Runnable onAppend, Path dir,
      FileChannel lockFile) throws IOException {
    String id = readOrCreateId(dir);
    TreeMap<Long, Segment> found = new TreeMap<>();
    long entries = 0;
    long truncated = 0;
    List<Path> files;
    try (Stream<Path> listing = Files.list(dir)) {
      files = listing.filter(p -> segmentSeq(p) > 0).sorted().toList();
    }
    for (Path p : files) {
      long first = segmentSeq(p);
      Scan scan = scan(p, first);
      if (scan.goodBytes < scan.fileBytes) {
        long cut = scan.fileBytes - scan.goodBytes;
        truncated += cut;
        LOG.warning(() -> "report spool: " + p.getFileName() + " ends in " + cut
            + " bytes of torn or damaged entries; truncating them (decisions after seq "
            + scan.lastSeq + " in this segment, if any, were not recorded)");
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.WRITE)) {
          ch.truncate(scan.goodBytes);
        }
      }
      // What the killed process left may be in the page cache only: make it durable now.
      try (FileChannel ch = FileChannel.open(p, StandardOpenOption.WRITE)) {
        ch.force(true);
      }
      entries += scan.lastSeq - first + 1;
      found.put(first, new Segment(first, p, scan.goodBytes, scan.lastSeq));
    }
    Recovery recovery = new Recovery(entries, truncated);
    if (entries > 0) {
      LOG.info(() -> "report spool: " + recovery.entries()
          + " unacknowledged decision(s) found; replaying them to the control plane");
    }
    return new Spool(dir, id, config, onAppend, found, recovery, lockFile);
  }

  /** This spool's id (see {@code ReportBatch.spool_id}). */
  String id() {
    return spoolId;
  }

  Recovery recovery() {
    return recovery;
  }

  /**
   * Writes one decision, assigning the next seq. Cheap (one {@code write(2)} of some 250 bytes)
   * and never throws: a decision that cannot be recorded (spool full, or a write error) is
   * counted in {@link #unrecorded()} instead.
   *
   * @return the seq given to the decision, or 0 if it was not recorded
   */
  long append(DecisionReport report) {
    byte[] body = report.toByteArray();
    int length = 8 + body.length;
    if (length > MAX_ENTRY_BYTES) {
      unrecorded.incrementAndGet();
      LOG.warning(() -> "report spool: a decision report of " + body.length
          + " bytes is too large to record");
      return 0;
    }
    ByteBuffer entry = ByteBuffer.allocate(8 + length);
    entry.putInt(length).putInt(0).putLong(0).put(body).flip();
    long seq;
    synchronized (lock) {
      if (closed || broken != null || usedBytes + entry.capacity() > capacityBytes) {
        unrecorded.incrementAndGet();
        return 0;
      }
      seq = nextSeq;
      entry.putLong(8, seq);
      crc.reset();
      crc.update(entry.array(), 8, length);
      entry.putInt(4, (int) crc.getValue());
      try {
        if (current.bytes > 0 && current.bytes + entry.capacity() > segmentBytes) {
          retired.add(out);
          startSegment();
        }
        out.write(entry.array(), 0, entry.capacity());
      } catch (IOException e) {
        // The bytes may be half written; a restart's recovery truncates them.
        broken = e;
        updateAccepting();
        unrecorded.incrementAndGet();
        LOG.log(Level.SEVERE, "report spool: write failed; decisions are no longer recorded"
            + " until this replica restarts", e);
        return 0;
      }
      nextSeq++;
      lastSeq = seq;
      current.bytes += entry.capacity();
      current.lastSeq = seq;
      usedBytes += entry.capacity();
      updateAccepting();
    }
    onAppend.run();
    return seq;
  }

  @GuardedBy("lock")
  private void startSegment() throws IOException {
    Path path = directory.resolve(segmentName(nextSeq));
    if (Files.exists(path)) {
      throw new IOException("report spool: " + path + " already exists");
    }
    out = new FileOutputStream(path.toFile(), true);
    current = new Segment(nextSeq, path, 0, nextSeq - 1);
    segments.put(nextSeq, current);
    directoryDirty = true;
  }

  /**
   * Fsyncs everything appended so far (and the directory, if segments were created). Runs in
   * the background; a failure marks the spool broken.
   */
  void sync() {
    synchronized (syncLock) {
      syncOnce();
    }
  }

  private void syncOnce() {
    FileOutputStream ch;
    List<FileOutputStream> old;
    boolean dir;
    long through;
    synchronized (lock) {
      if (closed || broken != null
          || (syncedThrough == nextSeq - 1 && retired.isEmpty() && !directoryDirty)) {
        return;
      }
      ch = out;
      old = new ArrayList<>(retired);
      retired.clear();
      dir = directoryDirty;
      directoryDirty = false;
      through = nextSeq - 1;
    }
    // force() outside the lock: appends go on meanwhile. Entries written after 'through' may
    // or may not be covered; the next sync covers them.
    try {
      for (FileOutputStream c : old) {
        c.getFD().sync();
        c.close();
      }
      ch.getFD().sync();
      if (dir) {
        forceDirectory(directory);
      }
      synchronized (lock) {
        syncedThrough = Math.max(syncedThrough, through);
      }
    } catch (IOException e) {
      synchronized (lock) {
        broken = e;
        updateAccepting();
      }
      LOG.log(Level.SEVERE, "report spool: fsync failed; decisions are no longer recorded"
          + " until this replica restarts", e);
    }
  }

  /** Reads from where the last ack left off: the cursor a (re)connected sender starts at. */
  Cursor cursorAfterAck() {
    synchronized (lock) {
      Map.Entry<Long, Segment> first = segments.firstEntry();
      return new Cursor(first.getKey(), 0, first.getKey());
    }
  }

  /**
   * Up to {@code max} entries from {@code from}, skipping those already acked, up to what has
   * been appended so far.
   */
  Batch read(Cursor from, int max) throws IOException {
    List<DecisionReport> out = new ArrayList<>();
    Cursor at = from;
    while (out.size() < max) {
      long limit;
      long acked;
      Path path;
      Long nextSegment;
      synchronized (lock) {
        Segment s = segments.get(at.segmentFirstSeq());
        if (s == null) {
          // Deleted (acked) under us: continue in the oldest remaining segment at or after it.
          Map.Entry<Long, Segment> e = segments.ceilingEntry(at.segmentFirstSeq());
          if (e == null) {
            e = segments.lastEntry();
          }
          at = new Cursor(e.getKey(), 0, e.getKey());
          continue;
        }
        limit = s.bytes;
        acked = ackedThrough;
        path = s.path;
        nextSegment = segments.higherKey(s.firstSeq);
      }
      if (at.offset() >= limit) {
        if (nextSegment == null) {
          break;
        }
        at = new Cursor(nextSegment, 0, nextSegment);
        continue;
      }
      Cursor before = at;
      at = readSegment(path, at, limit, acked, max, out);
      if (at.equals(before) && Files.exists(path)) {
        break; // no progress (cannot happen for entries append wrote); never spin
      }
    }
    return new Batch(out, at);
  }

  private static Cursor readSegment(Path path, Cursor at, long limit, long acked, int max,
      List<DecisionReport> out) throws IOException {
    long offset = at.offset();
    long seq = at.nextSeq();
    try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
      // Entries are at most MAX_ENTRY_BYTES, so one always fits.
      ByteBuffer buf = ByteBuffer.allocate((int) Math.min(limit - offset, 2 * MAX_ENTRY_BYTES));
      ch.read(buf, offset);
      buf.flip();
      while (out.size() < max && buf.remaining() >= HEADER_BYTES) {
        int length = buf.getInt(buf.position());
        if (buf.remaining() < 8 + length) {
          break; // the rest is beyond this read's buffer; the next call reads it
        }
        buf.position(buf.position() + HEADER_BYTES);
        byte[] body = new byte[length - 8];
        buf.get(body);
        if (seq > acked) {
          out.add(DecisionReport.parseFrom(body).toBuilder().setSeq(seq).build());
        }
        seq++;
        offset += 8 + length;
      }
    } catch (NoSuchFileException e) {
      // Acked and deleted since we looked: read() finds the segment gone and moves on.
      return at;
    }
    return new Cursor(at.segmentFirstSeq(), offset, seq);
  }

  /**
   * The control plane holds every decision through {@code seq}: segments wholly at or below it
   * (except the newest) are deleted.
   */
  void ack(long seq) {
    List<Path> delete = new ArrayList<>();
    synchronized (lock) {
      if (seq <= ackedThrough) {
        return;
      }
      ackedThrough = Math.min(seq, nextSeq - 1);
      while (segments.size() > 1) {
        Segment oldest = segments.firstEntry().getValue();
        if (oldest == current || oldest.lastSeq > ackedThrough) {
          break;
        }
        segments.pollFirstEntry();
        usedBytes -= oldest.bytes;
        delete.add(oldest.path);
      }
      updateAccepting();
    }
    for (Path p : delete) {
      try {
        Files.deleteIfExists(p);
      } catch (IOException e) {
        LOG.log(Level.WARNING, "report spool: could not delete acked segment " + p, e);
      }
    }
  }

  /**
   * False once new requests should be refused: under {@link SpoolFullPolicy#FAIL_CLOSED}, when
   * less than the reserve is free or the spool failed to write. Always true under {@link
   * SpoolFullPolicy#KEEP_SERVING}.
   */
  boolean acceptingDecisions() {
    return whenFull == SpoolFullPolicy.KEEP_SERVING || accepting;
  }

  @GuardedBy("lock")
  private void updateAccepting() {
    accepting = broken == null && !closed && usedBytes < highWaterBytes;
  }

  /** Counts a decision that never reached {@link #append}. */
  void countUnrecorded() {
    unrecorded.incrementAndGet();
  }

  /** Decisions that could not be recorded since this process started. */
  long unrecorded() {
    return unrecorded.get();
  }

  /** Bytes on disk (acked entries in segments not yet deleted included). */
  long usedBytes() {
    synchronized (lock) {
      return usedBytes;
    }
  }

  /** Decisions spooled and not acked yet. */
  long pending() {
    synchronized (lock) {
      return nextSeq - 1 - ackedThrough;
    }
  }

  long ackedThrough() {
    synchronized (lock) {
      return ackedThrough;
    }
  }

  /** The seq of the last decision appended (0 if none ever). Lock-free. */
  long lastSeq() {
    return lastSeq;
  }

  /** The last seq known to be fsynced. */
  long syncedThrough() {
    synchronized (lock) {
      return syncedThrough;
    }
  }

  /** Fsyncs what was appended and closes the files; later appends are counted as unrecorded. */
  @Override
  public void close() {
    sync();
    synchronized (lock) {
      closed = true;
      updateAccepting();
      try {
        out.close();
        for (FileOutputStream c : retired) {
          c.close();
        }
        lockFile.close(); // releases the lock
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }

  /** The first seq a segment file holds, from its name; 0 if it is not a segment file. */
  static long segmentSeq(Path p) {
    String name = p.getFileName().toString();
    if (!name.startsWith(PREFIX) || !name.endsWith(SUFFIX)
        || name.length() != PREFIX.length() + 20 + SUFFIX.length()) {
      return 0;
    }
    try {
      return Long.parseLong(name.substring(PREFIX.length(), PREFIX.length() + 20));
    } catch (NumberFormatException e) {
      return 0;
    }
  }

  static String segmentName(long firstSeq) {
    return PREFIX + String.format("%020d", firstSeq) + SUFFIX;
  }

  private record Scan(long goodBytes, long fileBytes, long lastSeq) {}

  /** Reads a segment's entries, stopping at the first torn or damaged one. */
  private static Scan scan(Path p, long firstSeq) throws IOException {
    byte[] data = Files.readAllBytes(p);
    ByteBuffer buf = ByteBuffer.wrap(data);
    CRC32C crc = new CRC32C();
    long expected = firstSeq;
    while (buf.remaining() >= HEADER_BYTES) {
      int at = buf.position();
      int length = buf.getInt(at);
      if (length < 8 || length > MAX_ENTRY_BYTES || buf.remaining() < 8 + length) {
        break;
      }
      crc.reset();
      crc.update(data, at + 8, length);
      if ((int) crc.getValue() != buf.getInt(at + 4) || buf.getLong(at + 8) != expected) {
        break;
      }
      try {
        DecisionReport.parseFrom(ByteBuffer.wrap(data, at + HEADER_BYTES, length - 8));
      } catch (InvalidProtocolBufferException e) {
        break;
      }
      buf.position(at + 8 + length);
      expected++;
    }
    return new Scan(buf.position(), data.length, expected - 1);
  }

  private static String readOrCreateId(Path dir) throws IOException {
    Path file = dir.resolve(ID_FILE);
    if (Files.exists(file)) {
      String id = Files.readString(file, StandardCharsets.US_ASCII).trim();
      if (!id.matches("[0-9a-f]{32}")) {
        throw new IOException("report spool: " + file + " does not hold a spool id; remove the"
            + " directory only if its decisions were delivered");
      }
      return id;
    }
    byte[] raw = new byte[16];
    new SecureRandom().nextBytes(raw);
    String id = HexFormat.of().formatHex(raw);
    Path tmp = dir.resolve(ID_FILE + ".tmp");
    try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE,
        StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
      ch.write(ByteBuffer.wrap((id + "\n").getBytes(StandardCharsets.US_ASCII)));
      ch.force(true);
    }
    try {
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
    } catch (AtomicMoveNotSupportedException e) {
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
    }
    forceDirectory(dir);
    return id;
  }

  private static void forceDirectory(Path dir) {
    // Makes new file names durable. Not possible on every platform (Windows): best effort.
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    } catch (IOException e) {
      LOG.log(Level.FINE, "report spool: cannot fsync directory " + dir, e);
    }
  }
}
