package io.perishable.controlplane.config;

import java.time.Duration;

/**
 * The {@code control_plane.audit} section: how often the audit log signs its head, and what to
 * do with a damaged log on start.
 *
 * @param checkpointInterval a signed checkpoint once this much time has passed with records
 *     not yet covered
 * @param checkpointEveryRecords ... or after this many records, whichever comes first
 * @param quarantineDamagedTail on start, move a damaged tail of the log aside (side files) and
 *     continue from the last good record, instead of refusing to start
 */
public record AuditSettings(Duration checkpointInterval, long checkpointEveryRecords,
    boolean quarantineDamagedTail) {
  public static final Duration DEFAULT_CHECKPOINT_INTERVAL = Duration.ofMinutes(1);
  public static final long DEFAULT_CHECKPOINT_EVERY_RECORDS = 10_000;
  public static final AuditSettings DEFAULTS = new AuditSettings(DEFAULT_CHECKPOINT_INTERVAL,
      DEFAULT_CHECKPOINT_EVERY_RECORDS, false);

  /** These settings with quarantine of a damaged tail switched on or off. */
  public AuditSettings withQuarantineDamagedTail(boolean quarantine) {
    return new AuditSettings(checkpointInterval, checkpointEveryRecords, quarantine);
  }

  void validate() {
    if (checkpointInterval == null || checkpointInterval.toMillis() < 100) {
      throw new IllegalArgumentException(
          "control_plane.audit.checkpoint_interval: must be at least 100ms");
    }
    if (checkpointEveryRecords < 1) {
      throw new IllegalArgumentException(
          "control_plane.audit.checkpoint_every_records: must be at least 1");
    }
  }
}
