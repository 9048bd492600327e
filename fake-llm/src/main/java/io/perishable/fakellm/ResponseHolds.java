package io.perishable.fakellm;

import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Named gates a test opens by hand: a request naming a gate in {@value
 * FakeLlmHandler#HOLD_HEADER} is recorded at once but answered only once its gate is released,
 * so a test can keep a request in flight for as long as it needs (e.g. across a replica crash),
 * without timing anything.
 */
final class ResponseHolds {
  private final Map<String, CompletableFuture<Void>> gates = new ConcurrentHashMap<>();

  /** The gate called {@code name}; completes when it is released. */
  CompletableFuture<Void> gate(String name) {
    return gates.computeIfAbsent(name, n -> new CompletableFuture<>());
  }

  /** Opens {@code name}: held responses go out, later requests naming it are not held. */
  void release(String name) {
    gate(name).complete(null);
  }

  /** Opens every gate, so nothing stays held once the server stops. */
  void releaseAll() {
    gates.values().forEach(g -> g.complete(null));
  }
}
