package io.perishable.controlplane.report;

/**
 * Which reported decisions are already durable in the audit log: the de-duplication state of
 * {@link ReportEndpoint}. Replicas resend after every broken stream and restart (at-least-once
 * delivery), and a decision the ledger knows is acked again but not appended again, so each one
 * lands in the chain exactly once.
 *
 * <p>A ledger must say "recorded" only for decisions whose audit record is durable, and must
 * remember them across a control-plane restart. {@link InMemoryReportLedger#rebuildFrom} does
 * that by scanning the whole audit log at start; a checkpointed ledger (a snapshot of the
 * high-water marks written with the log's checkpoints, then a scan of the tail) or a
 * PostgreSQL-backed one can replace it behind this interface.
 *
 * <p>Implementations are thread-safe.
 */
public interface ReportLedger {
  /** True if the decision {@code seq} from {@code source} is durable in the audit log. */
  boolean isRecorded(ReportSource source, long seq);

  /** The audit record of decision {@code seq} from {@code source} is now durable. */
  void recorded(ReportSource source, long seq);

  /**
   * Every decision from {@code source} up to and including {@code seq} that the replica will
   * ever send is durable: the endpoint calls this once a whole batch (sent in seq order after
   * the replica's last ack) is durable.
   */
  void recordedThrough(ReportSource source, long seq);
}
