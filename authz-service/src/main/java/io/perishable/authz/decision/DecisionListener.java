package io.perishable.authz.decision;

/**
 * Told of every decision after the response is on its way: logs now, metrics and the audit
 * report stream later. Must not block.
 */
@FunctionalInterface
public interface DecisionListener {
  /**
   * @param request the request, or null when it could not even be read
   * @param elapsedNanos time spent deciding
   */
  void decided(AuthzRequest request, Decision decision, long elapsedNanos);

  /** Tells each listener in turn; one that throws does not keep the others from hearing. */
  static DecisionListener all(DecisionListener... listeners) {
    return (request, decision, elapsedNanos) -> {
      RuntimeException first = null;
      for (DecisionListener listener : listeners) {
        try {
          listener.decided(request, decision, elapsedNanos);
        } catch (RuntimeException e) {
          first = first == null ? e : first;
        }
      }
      if (first != null) {
        throw first;
      }
    };
  }
}
