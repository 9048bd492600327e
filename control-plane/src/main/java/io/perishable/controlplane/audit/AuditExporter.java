package io.perishable.controlplane.audit;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletionException;

/**
 * Writes a range of the log as JSONL: one export line per record (docs/audit-log.md, "Export
 * format"), each the record's canonical JSON with {@code prev_hash} and {@code hash} appended,
 * then {@code \n}. Works on any {@link AuditLog}.
 *
 * <p>So that an export verifies end to end with the checkpoint key, it does not stop at a record
 * no checkpoint covers: it runs on to the first checkpoint at or after {@code toSeq}, asking the
 * log for a fresh checkpoint ({@link AuditLog#checkpoint()}) when there is none yet. The summary
 * says where it really ended.
 */
public final class AuditExporter {
  /**
   * What was exported.
   *
   * @param records lines written
   * @param firstSeq seq of the first line (0 if none)
   * @param lastSeq seq of the last line, a checkpoint (0 if none)
   */
  public record Summary(long records, long firstSeq, long lastSeq) {}

  private final AuditLog log;

  public AuditExporter(AuditLog log) {
    this.log = log;
  }

  /** Exports {@code [fromSeq, toSeq]} (and on to the covering checkpoint) into {@code file}. */
  public Summary export(long fromSeq, long toSeq, Path file) throws IOException {
    try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(file), 1 << 16)) {
      return export(fromSeq, toSeq, out);
    }
  }

  /**
   * Exports {@code [fromSeq, toSeq]} (and on to the covering checkpoint) to {@code out}; a
   * {@code toSeq} beyond the head (e.g. {@code Long.MAX_VALUE}) means "through the head as of
   * this call". Does not close {@code out}.
   */
  public Summary export(long fromSeq, long toSeq, OutputStream out) throws IOException {
    if (fromSeq < 1 || toSeq < fromSeq) {
      throw new IllegalArgumentException(
          "export range must satisfy 1 <= from <= to, got " + fromSeq + ".." + toSeq);
    }
    long target = Math.min(toSeq, log.head().seq());
    if (target < fromSeq) {
      return new Summary(0, 0, 0); // nothing in range yet
    }
    long records = 0;
    long first = 0;
    long next = fromSeq;
    while (true) {
      try (AuditLog.Reader reader = log.readFrom(next)) {
        while (reader.hasNext()) {
          AuditRecord r = reader.next();
          out.write(r.exportLine());
          out.write('\n');
          if (records++ == 0) {
            first = r.seq();
          }
          next = r.seq() + 1;
          if (r.seq() >= target && r.type() == AuditEventType.CHECKPOINT) {
            out.flush();
            return new Summary(records, first, r.seq());
          }
        }
      }
      if (next > log.head().seq()) {
        try {
          log.checkpoint().join(); // the next read reaches it
        } catch (CompletionException e) {
          throw new IOException("could not checkpoint the log to cover the export", e.getCause());
        }
      }
    }
  }
}
