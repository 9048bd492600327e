package io.perishable.controlplane.budget;

import java.util.concurrent.CompletableFuture;
import javax.annotation.Nullable;

/**
 * Where lease grants and returns are recorded ({@code budget_leased} and {@code
 * budget_returned} audit records), so that a restarted control plane rebuilds its ledger. Each
 * future completes once the record is durable.
 */
public interface BudgetRecords {
  /** Records nothing (a ledger that does not survive a restart). */
  BudgetRecords NONE = new BudgetRecords() {
    @Override
    public CompletableFuture<?> leased(Lease lease, @Nullable AgentWindow window) {
      return CompletableFuture.completedFuture(null);
    }

    @Override
    public CompletableFuture<?> returned(ReturnedLease returned) {
      return CompletableFuture.completedFuture(null);
    }
  };

  /** A lease was granted, charged to {@code window} (null: no agent budget). */
  CompletableFuture<?> leased(Lease lease, @Nullable AgentWindow window);

  /** A lease was settled or taken back on expiry. */
  CompletableFuture<?> returned(ReturnedLease returned);
}
