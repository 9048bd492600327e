package io.perishable.controlplane.audit;

import java.nio.file.Path;

/**
 * The stored log does not verify: a damaged, torn, edited or forged record. Thrown by {@link
 * FileAuditLog#open} (which then refuses to start) unless {@link
 * FileAuditLogConfig#quarantineDamagedTail()} is set, and by a reader that meets a bad record.
 */
public final class AuditLogCorruptedException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final long firstBadSeq;
  private final transient Path file;
  private final long line;
  private final String reason;

  AuditLogCorruptedException(long firstBadSeq, Path file, long line, String reason, String hint) {
    super("audit log corrupted at seq " + firstBadSeq + " (" + file + " line " + line + "): "
        + reason + (hint.isEmpty() ? "" : "; " + hint));
    this.firstBadSeq = firstBadSeq;
    this.file = file;
    this.line = line;
    this.reason = reason;
  }

  /** The seq of the first record that is missing or bad. */
  public long firstBadSeq() {
    return firstBadSeq;
  }

  /** The segment file holding it. */
  public Path file() {
    return file;
  }

  /** Its 1-based line number in {@link #file()}. */
  public long line() {
    return line;
  }

  /** Why it is bad, e.g. "truncated record" or "hash mismatch". */
  public String reason() {
    return reason;
  }
}
