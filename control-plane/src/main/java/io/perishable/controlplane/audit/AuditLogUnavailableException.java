package io.perishable.controlplane.audit;

/**
 * The log cannot append: it was closed, or an I/O error stopped it (a log that failed to write
 * or fsync stops for good, because what is on disk is then unknown; reopening recovers and
 * verifies). The record was not appended.
 */
public final class AuditLogUnavailableException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  AuditLogUnavailableException(String message, Throwable cause) {
    super(message, cause);
  }
}
