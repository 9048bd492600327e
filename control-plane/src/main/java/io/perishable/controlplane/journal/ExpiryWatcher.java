package io.perishable.controlplane.journal;

import io.perishable.controlplane.tokens.IndexedToken;
import io.perishable.controlplane.tokens.TokenIndex;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Records an {@code expired} event once per token when its expiry passes: {@link #scan()} (run
 * by the control plane's scheduler every second) takes from the token index the tokens whose
 * expiry is at or before the clock's now and that no earlier scan took ({@link
 * TokenIndex#takeExpired}, which keeps tokens ordered by expiry, so a scan costs the tokens that
 * expired since the last one, not the index's size), and appends one record for each. A failed
 * append is retried on the next scan; a restart learns which expiries are already recorded from
 * the log ({@link #alreadyRecorded}), so tokens that expired while the control plane was down
 * get their record on the first scan after it, and none gets two.
 */
public final class ExpiryWatcher {
  private static final Logger LOG = Logger.getLogger(ExpiryWatcher.class.getName());

  private final TokenIndex index;
  private final AuditTrail trail;
  private final Clock clock;
  /** Tokens whose expiry the log already held on start, until the index hands them out. */
  private final Set<String> recordedBefore = ConcurrentHashMap.newKeySet();
  /** Tokens whose expiry record failed: retried on the next scan. */
  private final Queue<IndexedToken> retry = new ConcurrentLinkedQueue<>();
  /** When {@link #recordedBefore} last dropped the ids the index has forgotten (scanner thread). */
  private long lastPruneMs = Long.MIN_VALUE / 2;

  /** How often {@link #recordedBefore} drops forgotten ids: as often as the index forgets. */
  static final long PRUNE_EVERY_MS = 60_000;

  public ExpiryWatcher(TokenIndex index, AuditTrail trail, Clock clock) {
    this.index = index;
    this.trail = trail;
    this.clock = clock;
  }

  /** How many ids of expiries recorded before the start are still held. */
  int recordedBeforeCount() {
    return recordedBefore.size();
  }

  /** Notes that the log already holds this token's expiry (from replay). */
  public void alreadyRecorded(String tokenId) {
    recordedBefore.add(tokenId);
  }

  /** Appends an expiry record for each newly expired token; returns how many it appended. */
  public int scan() {
    long now = clock.millis();
    List<IndexedToken> due = new ArrayList<>();
    for (IndexedToken t = retry.poll(); t != null; t = retry.poll()) {
      due.add(t);
    }
    for (IndexedToken t : index.takeExpired(now)) {
      if (!recordedBefore.remove(t.tokenId())) {
        due.add(t);
      }
    }
    if (now - lastPruneMs >= PRUNE_EVERY_MS) {
      // Ids of expiries recorded before the start whose tokens the index forgot without handing
      // them out (it forgets long-expired tokens once a minute).
      lastPruneMs = now;
      if (!recordedBefore.isEmpty()) {
        recordedBefore.removeIf(id -> index.get(id).isEmpty());
      }
    }
    for (IndexedToken t : due) {
      trail.expired(t.claims()).whenComplete((r, e) -> {
        if (e != null) {
          retry.add(t);
          LOG.log(Level.WARNING, "could not record the expiry of token_id " + t.tokenId()
              + "; retrying", e);
        }
      });
    }
    return due.size();
  }
}
