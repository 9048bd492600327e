package io.perishable.authz.sync;

import java.time.Duration;

/** How current this replica's pushed state is. */
public interface SyncStatus {
  /** True once a snapshot has been applied: before that, nothing can be decided. */
  boolean hasSnapshot();

  /**
   * How long since the control plane was last heard from, on a monotonic clock: a wall-clock
   * jump must not look like an outage, nor hide one.
   */
  Duration silence();
}
