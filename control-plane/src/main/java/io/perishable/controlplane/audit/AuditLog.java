package io.perishable.controlplane.audit;

import java.util.Iterator;
import java.util.concurrent.CompletableFuture;

/**
 * The audit trail: an append-only, hash-chained, durable sequence of {@link AuditRecord}s.
 *
 * <p>Deliberately narrow so that the embedded {@link FileAuditLog} and a PostgreSQL-backed log
 * for several control-plane nodes (DESIGN.md "Scale-out") can stand in for each other: append,
 * checkpoint, read from a seq, and the head. Implementations are thread-safe.
 *
 * <p><b>Durability contract.</b> A future returned by {@link #append} completes only once the
 * record is durable (fsynced, or committed); a caller that answers its client after the future
 * completes (Issue, Revoke) never acknowledges something a crash could lose. A future that
 * fails means the append was not acknowledged, and the caller must not act as if it had been
 * (answer {@code UNAVAILABLE}); nothing is ever dropped silently. (After an I/O error mid-batch
 * the record may still turn up in the log after a restart, like any unacknowledged write.)
 *
 * <p><b>No secrets.</b> Records carry token ids and a hash of the prompt, never a {@code prs_…}
 * token, a provider key or a request body; see {@link AuditRecord}.
 */
public interface AuditLog extends AutoCloseable {
  /**
   * Appends a record with these event fields, assigning its seq, time, prev_hash and hash. The
   * builder is copied before this returns. The future completes with the sealed record once it
   * is durable, or fails with {@link AuditLogFullException} (too many appends waiting), {@link
   * AuditLogUnavailableException} (closed, or failed on an I/O error). Dependent stages may run
   * on the log's writer thread: keep them short, never wait there for another append, or use
   * the {@code *Async} variants.
   *
   * @throws IllegalArgumentException if the fields are invalid (see {@link AuditRecord}) or the
   *     type is {@link AuditEventType#CHECKPOINT}, which only the log writes
   */
  CompletableFuture<AuditRecord> append(AuditRecord.Builder draft);

  /**
   * Appends a signed checkpoint of the current head now (besides the ones the log writes on its
   * own schedule); completes with the durable checkpoint record.
   */
  CompletableFuture<AuditRecord> checkpoint();

  /** The last durable record's seq and hash ({@code 0} and {@link ChainHash#GENESIS} if none). */
  Head head();

  /**
   * The durable records from {@code seq} (at least 1) to the head as of this call, in order. A
   * record appended later is not included: call again from the last seq + 1 to follow the log.
   * Close the reader when done.
   *
   * @throws AuditLogCorruptedException (from {@code next()}) if a stored record cannot be read
   */
  Reader readFrom(long seq);

  /**
   * Stops accepting appends, makes every accepted one durable, writes a final checkpoint if
   * records follow the last one, and releases the log. Appends after close fail with {@link
   * AuditLogUnavailableException}.
   */
  @Override
  void close();

  /** The head of the chain: the last durable record's seq and hash. */
  record Head(long seq, ChainHash hash) {}

  /** An iterator over stored records that holds files open until closed. */
  interface Reader extends Iterator<AuditRecord>, AutoCloseable {
    @Override
    void close();
  }
}
