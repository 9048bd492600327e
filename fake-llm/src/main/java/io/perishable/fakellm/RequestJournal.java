package io.perishable.fakellm;

import java.util.ArrayList;
import java.util.List;

/**
 * The arrival-ordered log of everything the fake upstream received, shared by all connections.
 *
 * <p>Request ids start at 1 and keep counting across {@link #clear()}, so an id seen in an {@code
 * x-fake-llm-request-id} response header never names two different requests.
 */
final class RequestJournal {

  private final Object lock = new Object();

  // @GuardedBy("lock"): list order and ids are assigned together, so order matches ids.
  private final List<RecordedRequest> requests = new ArrayList<>();

  // @GuardedBy("lock")
  private long lastId;

  /** Appends a request and returns its id. */
  long record(RecordedRequest request) {
    synchronized (lock) {
      requests.add(request);
      return ++lastId;
    }
  }

  List<RecordedRequest> snapshot() {
    synchronized (lock) {
      return List.copyOf(requests);
    }
  }

  RecordedRequest last() {
    synchronized (lock) {
      if (requests.isEmpty()) {
        throw new IllegalStateException(
            "fake-llm has not received any request since start or clear()");
      }
      return requests.get(requests.size() - 1);
    }
  }

  void clear() {
    synchronized (lock) {
      requests.clear();
    }
  }
}
