package io.perishable.authz.report;

import java.nio.file.Path;
import java.time.Duration;

/**
 * Settings of the decision report stream and its spool. Start from {@link #defaults(String,
 * Path)} and change what you need with the {@code with…} methods; {@link
 * DecisionReporter#start} calls {@link #validate()}.
 *
 * @param replicaId this replica's name, written to every audit record it reports (as {@code
 *     authz.replica_id})
 * @param spoolDirectory where the spool's segment files live (created if missing), e.g. {@code
 *     <data_dir>/report-spool}; one replica process per directory
 * @param spoolCapacityBytes most bytes of unacknowledged decisions kept on disk (about 250
 *     bytes per decision)
 * @param whenSpoolFull what to do when they do not fit (default {@link
 *     SpoolFullPolicy#FAIL_CLOSED})
 * @param fsyncInterval how often spooled decisions are fsynced in the background; a decision
 *     reaches the page cache (and so survives a kill -9 of the process) before the listener
 *     call returns, and the disk within this interval (surviving a power loss)
 * @param segmentBytes a spool segment file is closed and a new one started at this size; a
 *     segment is deleted once every decision in it is acked. At most a quarter of the capacity
 * @param maxBatchDecisions most decisions sent in one {@code ReportBatch}
 * @param maxInFlightBatches batches sent but not yet acked, at most
 * @param minBackoff first wait before reconnecting after the stream broke
 * @param maxBackoff the wait doubles per failed attempt up to this
 */
public record ReportConfig(
    String replicaId,
    Path spoolDirectory,
    long spoolCapacityBytes,
    SpoolFullPolicy whenSpoolFull,
    Duration fsyncInterval,
    long segmentBytes,
    int maxBatchDecisions,
    int maxInFlightBatches,
    Duration minBackoff,
    Duration maxBackoff) {

  public static final long DEFAULT_SPOOL_CAPACITY_BYTES = 256L << 20;
  public static final SpoolFullPolicy DEFAULT_WHEN_SPOOL_FULL = SpoolFullPolicy.FAIL_CLOSED;
  public static final Duration DEFAULT_FSYNC_INTERVAL = Duration.ofMillis(20);
  public static final long DEFAULT_SEGMENT_BYTES = 4L << 20;
  public static final int DEFAULT_MAX_BATCH_DECISIONS = 512;
  public static final int DEFAULT_MAX_IN_FLIGHT_BATCHES = 4;
  public static final Duration DEFAULT_MIN_BACKOFF = Duration.ofMillis(100);
  public static final Duration DEFAULT_MAX_BACKOFF = Duration.ofSeconds(5);

  /** The defaults, spooling to {@code spoolDirectory}. */
  public static ReportConfig defaults(String replicaId, Path spoolDirectory) {
    return new ReportConfig(replicaId, spoolDirectory, DEFAULT_SPOOL_CAPACITY_BYTES,
        DEFAULT_WHEN_SPOOL_FULL, DEFAULT_FSYNC_INTERVAL, DEFAULT_SEGMENT_BYTES,
        DEFAULT_MAX_BATCH_DECISIONS, DEFAULT_MAX_IN_FLIGHT_BATCHES, DEFAULT_MIN_BACKOFF,
        DEFAULT_MAX_BACKOFF);
  }

  /**
   * Under {@link SpoolFullPolicy#FAIL_CLOSED}, the space kept free once new requests are refused:
   * 1/32 of the capacity (8 MiB, some 30 000 decisions, at the default). It records the
   * requests already being decided when the spool filled, and the refusals that follow.
   */
  public long reserveBytes() {
    return spoolCapacityBytes / 32;
  }

  /** Returns this config, or throws naming the first invalid setting. */
  public ReportConfig validate() {
    require(replicaId != null && !replicaId.isBlank() && replicaId.length() <= 128,
        "authz.replica_id", "must be 1-128 characters");
    require(spoolDirectory != null, "authz.report.spool_dir", "is required");
    require(spoolCapacityBytes >= 64 << 10, "authz.report.spool_capacity",
        "must be at least 64KiB, got " + spoolCapacityBytes + " bytes");
    require(whenSpoolFull != null, "authz.report.when_spool_full",
        "must be fail_closed or keep_serving");
    require(fsyncInterval != null && fsyncInterval.toMillis() >= 1
        && fsyncInterval.compareTo(Duration.ofSeconds(1)) <= 0,
        "authz.report.fsync_interval", "must lie between 1ms and 1s");
    require(segmentBytes >= 4096 && segmentBytes <= spoolCapacityBytes / 4,
        "authz.report.segment_bytes", "must lie between 4KiB and a quarter of the spool"
            + " capacity (" + spoolCapacityBytes / 4 + " bytes), got " + segmentBytes);
    require(maxBatchDecisions >= 1 && maxBatchDecisions <= 10_000,
        "authz.report.max_batch_decisions", "must lie between 1 and 10000");
    require(maxInFlightBatches >= 1 && maxInFlightBatches <= 64,
        "authz.report.max_in_flight_batches", "must lie between 1 and 64");
    require(minBackoff != null && minBackoff.toMillis() >= 1, "authz.report.min_backoff",
        "must be at least 1ms");
    require(maxBackoff != null && maxBackoff.compareTo(minBackoff) >= 0,
        "authz.report.max_backoff", "must not be shorter than min_backoff");
    return this;
  }

  public ReportConfig withSpool(long capacityBytes, SpoolFullPolicy whenFull) {
    return new ReportConfig(replicaId, spoolDirectory, capacityBytes, whenFull, fsyncInterval,
        segmentBytes, maxBatchDecisions, maxInFlightBatches, minBackoff, maxBackoff);
  }

  public ReportConfig withSegmentBytes(long bytes) {
    return new ReportConfig(replicaId, spoolDirectory, spoolCapacityBytes, whenSpoolFull,
        fsyncInterval, bytes, maxBatchDecisions, maxInFlightBatches, minBackoff, maxBackoff);
  }

  public ReportConfig withFsyncInterval(Duration interval) {
    return new ReportConfig(replicaId, spoolDirectory, spoolCapacityBytes, whenSpoolFull,
        interval, segmentBytes, maxBatchDecisions, maxInFlightBatches, minBackoff, maxBackoff);
  }

  public ReportConfig withBatching(int maxBatch, int maxInFlight) {
    return new ReportConfig(replicaId, spoolDirectory, spoolCapacityBytes, whenSpoolFull,
        fsyncInterval, segmentBytes, maxBatch, maxInFlight, minBackoff, maxBackoff);
  }

  public ReportConfig withBackoff(Duration min, Duration max) {
    return new ReportConfig(replicaId, spoolDirectory, spoolCapacityBytes, whenSpoolFull,
        fsyncInterval, segmentBytes, maxBatchDecisions, maxInFlightBatches, min, max);
  }

  private static void require(boolean ok, String field, String problem) {
    if (!ok) {
      throw new IllegalArgumentException(field + ": " + problem);
    }
  }
}
