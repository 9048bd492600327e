package io.perishable.bench;

import io.perishable.authz.decision.AuthzRequest;
import io.perishable.authz.decision.Decision;
import io.perishable.authz.decision.DecisionListener;
import io.perishable.authz.decision.DecisionLog;
import java.util.concurrent.atomic.LongAdder;

/**
 * Counts authz-service's decisions, so the benchmark knows every request it sent was allowed:
 * a denial is still a successful gRPC call, invisible to ghz. Passes each decision on to the
 * production {@link DecisionLog}, so the measured path is the shipped one.
 */
final class DecisionCounter implements DecisionListener {
  private final DecisionListener next = new DecisionLog();
  private final LongAdder allowed = new LongAdder();
  private final LongAdder denied = new LongAdder();
  private volatile String lastDenial = "";

  @Override
  public void decided(AuthzRequest request, Decision decision, long elapsedNanos) {
    if (decision instanceof Decision.Deny deny) {
      denied.increment();
      lastDenial = deny.reason().code() + ": " + deny.message();
    } else {
      allowed.increment();
    }
    next.decided(request, decision, elapsedNanos);
  }

  long allowed() {
    return allowed.sum();
  }

  long denied() {
    return denied.sum();
  }

  String lastDenial() {
    return lastDenial;
  }
}
