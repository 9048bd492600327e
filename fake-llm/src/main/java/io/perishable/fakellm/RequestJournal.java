package io.perishable.fakellm;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The arrival-ordered log of everything the fake upstream received, and of the response body
 * bytes it sent for each request, shared by all connections.
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

  // @GuardedBy("lock"): the response body bytes written for each request id, so far
  private final Map<Long, ByteArrayOutputStream> sent = new HashMap<>();

  /** Appends a request and returns its id. */
  long record(RecordedRequest request) {
    synchronized (lock) {
      requests.add(request);
      return ++lastId;
    }
  }

  /** Notes response body bytes written for request {@code id} (appended to earlier ones). */
  void sent(long id, byte[] bytes) {
    synchronized (lock) {
      sent.computeIfAbsent(id, k -> new ByteArrayOutputStream()).writeBytes(bytes);
    }
  }

  Optional<byte[]> sentBody(long id) {
    synchronized (lock) {
      return Optional.ofNullable(sent.get(id)).map(ByteArrayOutputStream::toByteArray);
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
      sent.clear();
    }
  }
}
