package io.perishable.controlplane.report;

import io.perishable.controlplane.audit.AuditEventType;
import io.perishable.controlplane.audit.AuditLog;
import io.perishable.controlplane.audit.AuditRecord;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import javax.annotation.concurrent.GuardedBy;

/**
 * The embedded {@link ReportLedger}: per source, a high-water mark below which every decision is
 * recorded, plus the few recorded seqs above a gap (left when some appends of a batch failed and
 * others did not; the replica resends the batch and the gap closes).
 *
 * <p>The control plane rebuilds it at start as part of its state ({@code journal.RebuiltState}:
 * {@link #recordedBy} for each record after the newest state snapshot, {@link #restore} for
 * what the snapshot held); {@link #rebuildFrom} does it with a full scan. Memory: two longs
 * per source, plus any seqs above a gap.
 */
public final class InMemoryReportLedger implements ReportLedger {
  /** Audit record attribute: the decision's seq within its replica's spool. */
  public static final String SEQ_ATTRIBUTE = "replica_seq";
  /** Audit record attribute: the replica's spool id. */
  public static final String SPOOL_ATTRIBUTE = "replica_spool";

  private static final class Progress {
    @GuardedBy("this")
    long through;

    @GuardedBy("this")
    final TreeSet<Long> above = new TreeSet<>();

    synchronized boolean has(long seq) {
      return seq <= through || above.contains(seq);
    }

    synchronized void add(long seq) {
      if (seq == through + 1) {
        through = seq;
        while (!above.isEmpty() && above.first() == through + 1) {
          through = above.pollFirst();
        }
      } else if (seq > through) {
        above.add(seq);
      }
    }

    synchronized void addThrough(long seq) {
      if (seq > through) {
        through = seq;
        above.headSet(seq, true).clear();
        while (!above.isEmpty() && above.first() == through + 1) {
          through = above.pollFirst();
        }
      }
    }
  }

  private final Map<ReportSource, Progress> sources = new ConcurrentHashMap<>();

  /** An empty ledger: for a new audit log. */
  public InMemoryReportLedger() {}

  /**
   * A ledger holding every reported decision in {@code log}: scans all of it (records of type
   * {@code used}, {@code denied} and {@code completion} with a {@value #SEQ_ATTRIBUTE}
   * attribute). Call before the report endpoint serves.
   */
  public static InMemoryReportLedger rebuildFrom(AuditLog log) {
    InMemoryReportLedger ledger = new InMemoryReportLedger();
    try (AuditLog.Reader reader = log.readFrom(1)) {
      while (reader.hasNext()) {
        ledger.recordedBy(reader.next());
      }
    }
    return ledger;
  }

  /**
   * Notes the decision an audit record holds, if it is one ReportEndpoint wrote (type {@code
   * used}, {@code denied} or {@code completion} with {@value #SEQ_ATTRIBUTE} and {@value
   * #SPOOL_ATTRIBUTE}); other records are ignored.
   */
  public void recordedBy(AuditRecord r) {
    if (r.type() != AuditEventType.USED && r.type() != AuditEventType.DENIED
        && r.type() != AuditEventType.COMPLETION) {
      return;
    }
    String seq = r.attributes().get(SEQ_ATTRIBUTE);
    String spool = r.attributes().get(SPOOL_ATTRIBUTE);
    if (seq == null || spool == null || r.replicaId() == null) {
      return;
    }
    try {
      recorded(new ReportSource(r.replicaId(), spool), Long.parseLong(seq));
    } catch (NumberFormatException e) {
      // Not written by ReportEndpoint; nothing to de-duplicate against.
    }
  }

  /**
   * One source's progress: every seq up to {@code through} is recorded, and so are the seqs in
   * {@code above} (ascending, each greater than {@code through + 1}).
   */
  public record SourceProgress(ReportSource source, long through, List<Long> above) {}

  /** Every source's progress (a copy), for a state snapshot. */
  public List<SourceProgress> progress() {
    List<SourceProgress> out = new ArrayList<>();
    sources.forEach((source, p) -> {
      synchronized (p) {
        out.add(new SourceProgress(source, p.through, List.copyOf(p.above)));
      }
    });
    return out;
  }

  /** Restores one source's progress, as {@link #progress()} gave it. */
  public void restore(SourceProgress progress) {
    Progress p = sources.computeIfAbsent(progress.source(), s -> new Progress());
    p.addThrough(progress.through());
    for (long seq : progress.above()) {
      p.add(seq);
    }
  }

  @Override
  public boolean isRecorded(ReportSource source, long seq) {
    Progress p = sources.get(source);
    return p != null && p.has(seq);
  }

  @Override
  public void recorded(ReportSource source, long seq) {
    sources.computeIfAbsent(source, s -> new Progress()).add(seq);
  }

  @Override
  public void recordedThrough(ReportSource source, long seq) {
    sources.computeIfAbsent(source, s -> new Progress()).addThrough(seq);
  }

  /** Sources seen so far (for tests and diagnostics). */
  public int sourceCount() {
    return sources.size();
  }
}
