package io.perishable.controlplane.journal;

import io.perishable.controlplane.audit.AuditEventType;
import io.perishable.controlplane.audit.AuditLog;
import io.perishable.controlplane.audit.AuditRecord;
import java.io.IOException;
import java.util.logging.Level;
import java.util.logging.Logger;
import javax.annotation.concurrent.GuardedBy;

/**
 * Keeps state snapshots current: each {@link #catchUp} folds the durable records since the last
 * call into its own {@link RebuiltState} (a follower of the log, separate from the serving
 * structures, so the state is exactly that of a seq) and, on passing a {@code checkpoint}
 * record at least {@code everyRecords} records after the last snapshot, writes one there.
 * {@link #finish} (after the log's final checkpoint on a clean shutdown) writes one at the last
 * checkpoint regardless, so a clean restart folds nothing.
 *
 * <p>A snapshot that cannot be written is logged and counted, never fatal: the log stays the
 * source of truth and the next restart replays a little more. The cost is a second copy of the
 * state in memory and reading each record once more, in the background.
 */
public final class StateSnapshotter {
  private static final Logger LOG = Logger.getLogger(StateSnapshotter.class.getName());

  /** Told what happened to each snapshot attempt (a metric). */
  public interface Listener {
    void written(long seq, long nanos);

    void failed(long seq, Exception e);
  }

  private final AuditLog log;
  private final StateSnapshots store;
  private final long everyRecords;
  private final long retentionMs;
  private final Listener listener;

  @GuardedBy("this")
  private final RebuiltState state;

  @GuardedBy("this")
  private long lastSnapshotSeq;

  /**
   * @param state the state as of some seq (from {@link StateReplay#rebuild}); owned by this
   *     snapshotter from now on
   * @param lastSnapshotSeq the seq of the newest snapshot on disk (0 if none)
   * @param everyRecords write a snapshot at a checkpoint once this many records followed the
   *     last one
   * @param retentionMs how long after expiry the token index keeps a token; snapshots drop
   *     tokens expired longer than that before their checkpoint
   */
  public StateSnapshotter(AuditLog log, StateSnapshots store, RebuiltState state,
      long lastSnapshotSeq, long everyRecords, long retentionMs, Listener listener) {
    if (everyRecords < 1) {
      throw new IllegalArgumentException("everyRecords must be at least 1, got "
          + everyRecords);
    }
    this.log = log;
    this.store = store;
    this.state = state;
    this.lastSnapshotSeq = lastSnapshotSeq;
    this.everyRecords = everyRecords;
    this.retentionMs = retentionMs;
    this.listener = listener;
  }

  /** Folds the records appended since the last call; returns how many snapshots it wrote. */
  public synchronized int catchUp() {
    return fold(false);
  }

  /**
   * As {@link #catchUp}, and writes a snapshot at the last record if it is a checkpoint not yet
   * snapshotted: call once the log is closed (its last record is then a checkpoint).
   */
  public synchronized int finish() {
    return fold(true);
  }

  /** The seq of the newest snapshot written or loaded. */
  public synchronized long lastSnapshotSeq() {
    return lastSnapshotSeq;
  }

  @GuardedBy("this")
  private int fold(boolean toTheEnd) {
    long head = log.head().seq();
    if (head <= state.seq()) {
      return 0;
    }
    int written = 0;
    try (AuditLog.Reader reader = log.readFrom(state.seq() + 1)) {
      while (reader.hasNext()) {
        AuditRecord r = reader.next();
        state.apply(r);
        if (r.type() != AuditEventType.CHECKPOINT) {
          continue;
        }
        boolean due = r.seq() - lastSnapshotSeq >= everyRecords;
        boolean last = toTheEnd && r.seq() == head;
        if ((due || last) && r.seq() != lastSnapshotSeq && write(r)) {
          written++;
        }
      }
    }
    return written;
  }

  @GuardedBy("this")
  private boolean write(AuditRecord checkpoint) {
    long start = System.nanoTime();
    try {
      state.prune(checkpoint.timeMs() - retentionMs, checkpoint.timeMs());
      store.write(state, checkpoint);
      lastSnapshotSeq = checkpoint.seq();
      listener.written(checkpoint.seq(), System.nanoTime() - start);
      return true;
    } catch (IOException | RuntimeException e) {
      LOG.log(Level.WARNING, "could not write the state snapshot at seq " + checkpoint.seq()
          + " into " + store.directory() + "; the next restart replays more of the log", e);
      listener.failed(checkpoint.seq(), e);
      return false;
    }
  }
}
