package io.perishable.controlplane.audit;

import java.nio.file.Path;
import java.time.Duration;

/**
 * Settings of the embedded audit log. Start from {@link #defaults(Path)} and change what you
 * need with the {@code with…} methods; {@link FileAuditLog#open} calls {@link #validate()}.
 *
 * @param directory where the segment files live (created if missing), e.g. {@code
 *     <data_dir>/audit}
 * @param queueCapacity appends that may wait for the writer; beyond that, producers block
 * @param enqueueTimeout how long a producer blocks for room before its append fails with
 *     {@link AuditLogFullException}
 * @param maxBatchRecords most records written (and fsynced once) together
 * @param segmentBytes a segment file is closed and a new one started once it reaches this size
 * @param checkpointEveryRecords a signed checkpoint follows at most this many records
 * @param checkpointInterval ... or once this much time has passed since the last checkpoint,
 *     whichever comes first (only when records are waiting to be covered)
 * @param quarantineDamagedTail on open, if the log does not verify, move everything from the
 *     first bad record on to side files ({@code <segment>.damaged-<time>}) and continue from the
 *     last good record, instead of refusing to open
 */
public record FileAuditLogConfig(
    Path directory,
    int queueCapacity,
    Duration enqueueTimeout,
    int maxBatchRecords,
    long segmentBytes,
    long checkpointEveryRecords,
    Duration checkpointInterval,
    boolean quarantineDamagedTail) {
  public static final int DEFAULT_QUEUE_CAPACITY = 65_536;
  public static final Duration DEFAULT_ENQUEUE_TIMEOUT = Duration.ofSeconds(1);
  public static final int DEFAULT_MAX_BATCH_RECORDS = 8_192;
  public static final long DEFAULT_SEGMENT_BYTES = 64L << 20;
  public static final long DEFAULT_CHECKPOINT_EVERY_RECORDS = 10_000;
  public static final Duration DEFAULT_CHECKPOINT_INTERVAL = Duration.ofSeconds(60);

  /** The defaults, with the log in {@code directory}. */
  public static FileAuditLogConfig defaults(Path directory) {
    return new FileAuditLogConfig(directory, DEFAULT_QUEUE_CAPACITY, DEFAULT_ENQUEUE_TIMEOUT,
        DEFAULT_MAX_BATCH_RECORDS, DEFAULT_SEGMENT_BYTES, DEFAULT_CHECKPOINT_EVERY_RECORDS,
        DEFAULT_CHECKPOINT_INTERVAL, false);
  }

  /** Returns this config, or throws naming the first invalid setting. */
  public FileAuditLogConfig validate() {
    if (directory == null) {
      throw new IllegalArgumentException("audit log directory is required");
    }
    if (queueCapacity < 1) {
      throw new IllegalArgumentException("audit queue capacity must be at least 1");
    }
    if (enqueueTimeout == null || enqueueTimeout.isNegative()) {
      throw new IllegalArgumentException("audit enqueue timeout must not be negative");
    }
    if (maxBatchRecords < 1) {
      throw new IllegalArgumentException("audit max batch records must be at least 1");
    }
    if (segmentBytes < 4096) {
      throw new IllegalArgumentException("audit segment size must be at least 4096 bytes");
    }
    if (checkpointEveryRecords < 1) {
      throw new IllegalArgumentException("audit checkpoint interval must be at least 1 record");
    }
    if (checkpointInterval == null || checkpointInterval.toMillis() < 1) {
      throw new IllegalArgumentException("audit checkpoint interval must be at least 1ms");
    }
    return this;
  }

  public FileAuditLogConfig withQueue(int capacity, Duration timeout) {
    return new FileAuditLogConfig(directory, capacity, timeout, maxBatchRecords, segmentBytes,
        checkpointEveryRecords, checkpointInterval, quarantineDamagedTail);
  }

  public FileAuditLogConfig withMaxBatchRecords(int records) {
    return new FileAuditLogConfig(directory, queueCapacity, enqueueTimeout, records,
        segmentBytes, checkpointEveryRecords, checkpointInterval, quarantineDamagedTail);
  }

  public FileAuditLogConfig withSegmentBytes(long bytes) {
    return new FileAuditLogConfig(directory, queueCapacity, enqueueTimeout, maxBatchRecords,
        bytes, checkpointEveryRecords, checkpointInterval, quarantineDamagedTail);
  }

  public FileAuditLogConfig withCheckpoints(long everyRecords, Duration interval) {
    return new FileAuditLogConfig(directory, queueCapacity, enqueueTimeout, maxBatchRecords,
        segmentBytes, everyRecords, interval, quarantineDamagedTail);
  }

  public FileAuditLogConfig withQuarantineDamagedTail(boolean quarantine) {
    return new FileAuditLogConfig(directory, queueCapacity, enqueueTimeout, maxBatchRecords,
        segmentBytes, checkpointEveryRecords, checkpointInterval, quarantine);
  }
}
