package io.perishable.controlplane.journal;

import io.perishable.controlplane.audit.AuditLog;
import io.perishable.controlplane.report.InMemoryReportLedger;
import io.perishable.controlplane.revocation.RevocationRules;
import io.perishable.controlplane.tokens.TokenIndex;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import javax.annotation.Nullable;

/**
 * Rebuilds the control plane's state from the audit log on start ({@link RebuiltState}): every
 * {@code issued} record back into the {@link TokenIndex}, every {@code revoked} record back into
 * the {@link RevocationRules} (rules past their expiry drop out on the first read), every {@code
 * expired} record into the {@link ExpiryWatcher} so no expiry is recorded twice, the ids of the
 * signing keys a {@code key_rotated} record already announced, and the report ledger.
 *
 * <p>It starts from the newest usable state snapshot ({@link StateSnapshots}) and folds only the
 * records after it; without one (none yet, or every one refused) it reads the log from seq 1.
 * Either way the result is the same state.
 */
public final class StateReplay {
  private StateReplay() {}

  /**
   * What the replay found.
   *
   * @param records records folded in after the snapshot (all of them without one)
   * @param fromSnapshotSeq the seq of the snapshot it started from, 0 for a replay from seq 1
   * @param rejectedSnapshots newer snapshots it could not use, and why
   * @param issued tokens held (expired ones included, until the index forgets them)
   * @param revocations rules held (live or not)
   * @param expired expiries already recorded
   * @param keyIds signing-key ids already announced by a key_rotated record
   * @param millis how long it took
   */
  public record Summary(long records, long fromSnapshotSeq,
      List<StateSnapshots.Rejected> rejectedSnapshots, long issued, long revocations,
      long expired, Set<String> keyIds, long millis) {}

  /**
   * The state and how it was rebuilt.
   *
   * @param state the state as of the log's head; keep it for a {@link StateSnapshotter}
   */
  public record Result(RebuiltState state, Summary summary) {}

  /**
   * Rebuilds the state as of {@code log}'s head, from the newest usable snapshot in {@code
   * snapshots} (null: always from seq 1).
   */
  public static Result rebuild(AuditLog log, @Nullable StateSnapshots snapshots) {
    long start = System.nanoTime();
    List<StateSnapshots.Rejected> rejected = new ArrayList<>();
    long head = log.head().seq();
    for (Path file : snapshots == null ? List.<Path>of() : snapshots.files()) {
      try {
        StateSnapshots.Signed signed = snapshots.read(file);
        if (signed.seq() > head) {
          throw new IOException("taken at seq " + signed.seq() + ", beyond the log's head "
              + head);
        }
        // One pass from the snapshot's checkpoint: its binding, then the records after it.
        try (AuditLog.Reader reader = log.readFrom(signed.seq())) {
          signed.checkBinding(reader.next());
          RebuiltState state = signed.state();
          long records = foldRest(reader, state);
          return result(state, signed.seq(), records, rejected, start);
        }
      } catch (IOException | RuntimeException e) {
        rejected.add(StateSnapshots.rejected(file, e));
      }
    }
    RebuiltState state = new RebuiltState();
    long records = 0;
    if (head > 0) {
      try (AuditLog.Reader reader = log.readFrom(1)) {
        records = foldRest(reader, state);
      }
    }
    return result(state, 0, records, rejected, start);
  }

  private static long foldRest(AuditLog.Reader reader, RebuiltState state) {
    long records = 0;
    while (reader.hasNext()) {
      state.apply(reader.next());
      records++;
    }
    return records;
  }

  private static Result result(RebuiltState state, long from, long records,
      List<StateSnapshots.Rejected> rejected, long startNanos) {
    return new Result(state, new Summary(records, from, List.copyOf(rejected),
        state.tokenCount(),
        state.ruleCount(), state.expiredCount(), state.keyIds(),
        (System.nanoTime() - startNanos) / 1_000_000));
  }

  /** Reads {@code log} from seq 1 into the (empty) index, rules and watcher. */
  public static Summary replay(AuditLog log, TokenIndex index, RevocationRules rules,
      ExpiryWatcher expiries) {
    Result result = rebuild(log, null);
    result.state().installInto(index, rules, expiries, new InMemoryReportLedger());
    return result.summary();
  }
}
