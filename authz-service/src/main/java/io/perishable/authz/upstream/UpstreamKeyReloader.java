package io.perishable.authz.upstream;

import java.time.Duration;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Polls key files and Vault for rotated keys. Polling rather than file-system events: a
 * Kubernetes secret volume rotates by swapping a symlink, which watch services report
 * unreliably, and Vault has no events at all.
 */
public final class UpstreamKeyReloader implements AutoCloseable {
  private final ScheduledFuture<?> task;

  /**
   * @param onReload told of every reload that changed or failed something (for metrics)
   */
  public UpstreamKeyReloader(UpstreamCredentials credentials, Duration interval,
      ScheduledExecutorService scheduler, Consumer<UpstreamCredentials.Reload> onReload) {
    long ms = interval.toMillis();
    this.task = scheduler.scheduleWithFixedDelay(() -> {
      UpstreamCredentials.Reload reload = credentials.reload();
      if (!reload.changed().isEmpty() || !reload.failed().isEmpty()) {
        onReload.accept(reload);
      }
    }, ms, ms, TimeUnit.MILLISECONDS);
  }

  @Override
  public void close() {
    task.cancel(false);
  }
}
