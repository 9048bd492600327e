package io.perishable.authz.token;

import io.perishable.token.Ed25519PublicKeys;
import java.security.PublicKey;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The public keys this replica trusts, by key id, as pushed by the control plane. Readers see
 * one immutable map at a time (a volatile swap), so the hot path never locks.
 */
public final class KeyRing {
  private volatile Map<String, PublicKey> keys = Map.of();

  public Optional<PublicKey> get(String keyId) {
    return Optional.ofNullable(keys.get(keyId));
  }

  public Set<String> keyIds() {
    return keys.keySet();
  }

  /** Replaces every key (a snapshot). Returns the ids that were dropped. */
  public synchronized Set<String> replaceAll(Map<String, byte[]> rawKeysById) {
    Map<String, PublicKey> next = new HashMap<>();
    rawKeysById.forEach((id, raw) -> next.put(id, checked(id, raw)));
    Set<String> dropped = new java.util.HashSet<>(keys.keySet());
    dropped.removeAll(next.keySet());
    keys = Map.copyOf(next);
    return dropped;
  }

  /** Adds keys and removes others (a delta). */
  public synchronized void update(Map<String, byte[]> added, Set<String> removed) {
    Map<String, PublicKey> next = new HashMap<>(keys);
    added.forEach((id, raw) -> next.put(id, checked(id, raw)));
    next.keySet().removeAll(removed);
    keys = Map.copyOf(next);
  }

  /** A key whose id does not match its bytes is refused: ids are derived, never chosen. */
  private static PublicKey checked(String keyId, byte[] raw) {
    String derived = Ed25519PublicKeys.keyId(raw);
    if (!derived.equals(keyId)) {
      throw new IllegalArgumentException("key id " + keyId + " does not match its key " + derived);
    }
    return Ed25519PublicKeys.fromRaw(raw);
  }
}
