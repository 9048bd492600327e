package io.perishable.controlplane.journal;

import io.perishable.controlplane.tokens.IndexedToken;
import io.perishable.controlplane.tokens.TokenIndex;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Records an {@code expired} event once per token when its expiry passes: {@link #scan()} (run
 * by the control plane's scheduler every second) walks the token index and appends one record
 * for each token whose expiry is at or before the clock's now and that has none yet. A failed
 * append is retried on the next scan; a restart learns which expiries are already recorded from
 * the log ({@link #alreadyRecorded}), so tokens that expired while the control plane was down
 * get their record on the first scan after it, and none gets two.
 */
public final class ExpiryWatcher {
  private static final Logger LOG = Logger.getLogger(ExpiryWatcher.class.getName());

  private final TokenIndex index;
  private final AuditTrail trail;
  private final Clock clock;
  /** Tokens whose expiry is recorded, or being recorded. */
  private final Set<String> recorded = ConcurrentHashMap.newKeySet();
  /** When {@link #recorded} last dropped the ids the index has forgotten (scanner thread). */
  private long lastPruneMs = Long.MIN_VALUE / 2;

  /** How often {@link #recorded} drops forgotten ids: as often as the index forgets. */
  static final long PRUNE_EVERY_MS = 60_000;

  public ExpiryWatcher(TokenIndex index, AuditTrail trail, Clock clock) {
    this.index = index;
    this.trail = trail;
    this.clock = clock;
  }

  /** How many tokens' expiries are known to be recorded (or being recorded). */
  int recordedCount() {
    return recorded.size();
  }

  /** Notes that the log already holds this token's expiry (from replay). */
  public void alreadyRecorded(String tokenId) {
    recorded.add(tokenId);
  }

  /** Appends an expiry record for each newly expired token; returns how many it appended. */
  public int scan() {
    long now = clock.millis();
    List<IndexedToken> due = new ArrayList<>();
    index.forEach(t -> {
      if (t.claims().getExpiresAtMs() <= now && !recorded.contains(t.tokenId())) {
        due.add(t);
      }
    });
    if (now - lastPruneMs >= PRUNE_EVERY_MS) {
      // The index forgets long-expired tokens (once a minute); so does this set. Not on every
      // scan: collecting every indexed id each second was most of a scan's cost under load.
      lastPruneMs = now;
      recorded.removeIf(id -> index.get(id).isEmpty());
    }
    for (IndexedToken t : due) {
      if (recorded.add(t.tokenId())) {
        trail.expired(t.claims()).whenComplete((r, e) -> {
          if (e != null) {
            recorded.remove(t.tokenId()); // retried on the next scan
            LOG.log(Level.WARNING, "could not record the expiry of token_id " + t.tokenId()
                + "; retrying", e);
          }
        });
      }
    }
    return due.size();
  }
}
