package io.perishable.controlplane.audit;

/**
 * An append waited its configured time for room in the log's queue and gave up: the record was
 * not appended. Callers answer with a retryable error (gRPC {@code UNAVAILABLE}); they must not
 * act as if the event were recorded.
 */
public final class AuditLogFullException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  AuditLogFullException(String message) {
    super(message);
  }
}
