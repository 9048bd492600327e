package io.perishable.controlplane.journal;

import io.perishable.controlplane.audit.AuditLog;
import io.perishable.controlplane.audit.AuditRecord;
import io.perishable.controlplane.revocation.RevocationRules;
import io.perishable.controlplane.tokens.IndexedToken;
import io.perishable.controlplane.tokens.TokenIndex;
import java.util.HashSet;
import java.util.Set;

/**
 * Rebuilds the control plane's state from the audit log on start: every {@code issued} record
 * back into the {@link TokenIndex}, every {@code revoked} record back into the {@link
 * RevocationRules} (rules past their expiry drop out on the first read), every {@code expired}
 * record into the {@link ExpiryWatcher} so no expiry is recorded twice, and the ids of the
 * signing keys a {@code key_rotated} record already announced.
 *
 * <p>It reads the whole log from seq 1: simple and exact, but linear in the log's length
 * (decision records included). A snapshot written beside a checkpoint would bound it; not yet.
 */
public final class StateReplay {
  private StateReplay() {}

  /**
   * What the replay found.
   *
   * @param records records read
   * @param issued tokens indexed
   * @param revocations rules read (live or not)
   * @param expired expiries already recorded
   * @param keyIds signing-key ids already announced by a key_rotated record
   * @param millis how long it took
   */
  public record Summary(long records, long issued, long revocations, long expired,
      Set<String> keyIds, long millis) {}

  /** Reads {@code log} from seq 1 into the (empty) index, rules and watcher. */
  public static Summary replay(AuditLog log, TokenIndex index, RevocationRules rules,
      ExpiryWatcher expiries) {
    long start = System.nanoTime();
    long records = 0;
    long issued = 0;
    long revocations = 0;
    long expired = 0;
    Set<String> keyIds = new HashSet<>();
    if (log.head().seq() == 0) {
      return new Summary(0, 0, 0, 0, keyIds, 0);
    }
    try (AuditLog.Reader reader = log.readFrom(1)) {
      while (reader.hasNext()) {
        AuditRecord r = reader.next();
        records++;
        switch (r.type()) {
          case ISSUED -> {
            if (index.get(r.tokenId()).isEmpty()) {
              index.add(new IndexedToken(AuditTrail.claimsOf(r), AuditTrail.mintedByOf(r)));
              issued++;
            }
          }
          case REVOKED -> {
            rules.add(AuditTrail.ruleOf(r));
            revocations++;
          }
          case EXPIRED -> {
            expiries.alreadyRecorded(r.tokenId());
            expired++;
          }
          case KEY_ROTATED -> {
            if (r.keyId() != null) {
              keyIds.add(r.keyId());
            }
          }
          default -> { }
        }
      }
    }
    return new Summary(records, issued, revocations, expired, Set.copyOf(keyIds),
        (System.nanoTime() - start) / 1_000_000);
  }
}
