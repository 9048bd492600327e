package io.perishable.controlplane.audit;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;

/**
 * Verifies an audit chain offline: a JSONL export ({@link #verifyExport}), the embedded log's
 * directory ({@link #verifyLog}) or any stream of export lines ({@link #verify}). It checks, for
 * every line in order, that it is canonical JSON (docs/audit-log.md), that seqs run on without
 * gaps, that {@code hash = BLAKE3(prev_hash ‖ canonical bytes)}, that {@code prev_hash} is the
 * previous record's hash, and that every checkpoint is signed by a trusted checkpoint key. It
 * stops at the first bad record and names it: seq, file, line number and why ("hash mismatch",
 * "seq gap: expected 42 got 44", "bad checkpoint signature", "truncated record", "not JSON",
 * "not canonical: …").
 *
 * <p>What each check catches. The chain alone catches an edited, deleted, inserted or swapped
 * record and a torn final line — unless whoever edited it recomputed every later hash, which
 * anybody can (BLAKE3 has no key). Checkpoint signatures catch that: a rewritten chain, however
 * self-consistent, carries no valid signature by the checkpoint key. So a verifier that is
 * {@link #trusting} the checkpoint keys by default also requires every record to be covered by a
 * later checkpoint ({@link #withMaxUnsignedTail} relaxes that, e.g. for a live log whose last
 * records are not checkpointed yet). Records removed cleanly from the end leave a valid, shorter
 * chain: only {@link #expectingRecordsThrough} (a head known from elsewhere) catches that.
 *
 * <p>Instances are immutable and thread-safe; each verification uses its own state.
 */
public final class AuditVerifier {
  private final List<byte[]> trustedKeys;
  private final long maxUnsignedTail;
  private final long expectThroughSeq;

  private AuditVerifier(List<byte[]> trustedKeys, long maxUnsignedTail, long expectThroughSeq) {
    this.trustedKeys = trustedKeys;
    this.maxUnsignedTail = maxUnsignedTail;
    this.expectThroughSeq = expectThroughSeq;
  }

  /**
   * A verifier that checks checkpoint signatures against these raw 32-byte Ed25519 public keys
   * ({@link CheckpointKeys#publicKeys()}), and requires every record to be followed by a valid
   * checkpoint.
   */
  public static AuditVerifier trusting(Collection<byte[]> checkpointPublicKeys) {
    if (checkpointPublicKeys.isEmpty()) {
      throw new IllegalArgumentException("trusting() needs at least one checkpoint key;"
          + " use chainOnly() to check the chain without signatures");
    }
    List<byte[]> keys = new ArrayList<>();
    for (byte[] k : checkpointPublicKeys) {
      keys.add(k.clone());
    }
    return new AuditVerifier(List.copyOf(keys), 0, 0);
  }

  /**
   * A verifier that checks the chain but not who wrote it: it cannot tell the real log from a
   * self-consistent rewrite.
   */
  public static AuditVerifier chainOnly() {
    return new AuditVerifier(List.of(), Long.MAX_VALUE, 0);
  }

  /**
   * Accepts up to {@code records} records after the last checkpoint (they are chained but not
   * signed). For a live log, the log's checkpoint interval in records is the natural bound.
   */
  public AuditVerifier withMaxUnsignedTail(long records) {
    if (records < 0) {
      throw new IllegalArgumentException("max unsigned tail must not be negative");
    }
    return new AuditVerifier(trustedKeys, records, expectThroughSeq);
  }

  /**
   * Requires the chain to reach at least {@code seq}: a head seq learnt elsewhere (a previous
   * export, a {@code Watch} consumer) turns a cleanly cut tail into a failure.
   */
  public AuditVerifier expectingRecordsThrough(long seq) {
    return new AuditVerifier(trustedKeys, maxUnsignedTail, seq);
  }

  /** Verifies a JSONL export; it may start at any seq (if at seq 1, from the genesis hash). */
  public Report verifyExport(Path file) throws IOException {
    try (InputStream in = Files.newInputStream(file)) {
      return verify(in, file.getFileName().toString());
    }
  }

  /** Verifies a stream of export lines; {@code source} names it in the failure. */
  public Report verify(InputStream in, String source) throws IOException {
    try (Run run = new Run(new ChainVerifier(trustedKeys, false))) {
      run.scan(in, source);
      return run.finish();
    }
  }

  /**
   * Verifies the embedded log's directory ({@link FileAuditLog}): every segment in order, from
   * seq 1 and the genesis hash. Line numbers in a failure count within the named segment.
   */
  public Report verifyLog(Path directory) throws IOException {
    try (Run run = new Run(new ChainVerifier(trustedKeys, true))) {
      return verifySegments(run, directory);
    }
  }

  private Report verifySegments(Run run, Path directory) throws IOException {
    for (Segments.Segment s : Segments.list(directory)) {
      if (run.failure != null) {
        break;
      }
      String source = s.path().getFileName().toString();
      long expected = run.chain.expectedSeq();
      if (s.firstSeq() != expected && Files.size(s.path()) > 0) {
        run.failure = new Failure(expected, source, 1,
            "segment named for seq " + s.firstSeq() + " but the chain continues at " + expected);
        break;
      }
      try (InputStream in = Files.newInputStream(s.path())) {
        run.scan(in, source);
      }
    }
    return run.finish();
  }

  /** One verification's state. */
  private final class Run implements AutoCloseable {
    final ChainVerifier chain;
    final ChainScan scan;
    Failure failure;
    String lastSource = "";
    long lastLine;

    Run(ChainVerifier chain) {
      this.chain = chain;
      this.scan = ChainScan.parallel(chain);
    }

    void scan(InputStream in, String source) throws IOException {
      lastSource = source;
      ChainScan.Bad bad = scan.scan(in);
      lastLine = scan.lastLineNo();
      if (bad != null) {
        failure = new Failure(bad.seq(), source, bad.lineNo(), bad.reason());
      }
    }

    @Override
    public void close() {
      scan.close();
    }

    Report finish() {
      long unsigned = chain.checkpoints == 0 ? chain.records : chain.recordsSinceCheckpoint;
      if (failure == null && expectThroughSeq > 0 && chain.lastSeq < expectThroughSeq) {
        failure = new Failure(chain.lastSeq + 1, lastSource, lastLine + 1,
            "truncated: the chain ends at seq " + chain.lastSeq + ", expected records through "
                + expectThroughSeq);
      }
      if (failure == null && unsigned > maxUnsignedTail) {
        long first = chain.lastSeq - unsigned + 1;
        failure = new Failure(first, lastSource, lastLine - unsigned + 1,
            unsigned + " record(s) from seq " + first + " on are not covered by a checkpoint"
                + " signature" + (chain.checkpoints == 0 ? " (there is no checkpoint at all)"
                : " (last checkpoint: seq " + chain.lastCheckpointSeq + ")"));
      }
      return new Report(chain.records, chain.firstSeq, chain.lastSeq, chain.head(),
          chain.checkpoints, chain.lastCheckpointSeq, unsigned, chain.checksSignatures(),
          Optional.ofNullable(failure));
    }
  }

  /**
   * The first bad record.
   *
   * @param seq the seq that should be at that place in the chain (for an unreadable first line
   *     of an export, the seq it claims, or 0)
   * @param source the file (or stream) it is in
   * @param line its 1-based line number in {@code source}
   * @param reason why it is bad
   */
  public record Failure(long seq, String source, long line, String reason) {
    @Override
    public String toString() {
      return "seq " + seq + " (" + source + " line " + line + "): " + reason;
    }
  }

  /**
   * What a verification found.
   *
   * @param records good records read (before the failure, if any)
   * @param firstSeq seq of the first good record, -1 if none
   * @param lastSeq seq of the last good record, 0 if none
   * @param head hash of the last good record ({@link ChainHash#GENESIS} if none)
   * @param checkpoints checkpoint records among the good ones
   * @param lastCheckpointSeq seq of the last good checkpoint, 0 if none
   * @param unsignedTail good records after the last good checkpoint (all, if there is none)
   * @param signaturesChecked whether checkpoint signatures were checked (a trusted key given)
   * @param failure the first bad record; empty when everything verified
   */
  public record Report(long records, long firstSeq, long lastSeq, ChainHash head,
      long checkpoints, long lastCheckpointSeq, long unsignedTail, boolean signaturesChecked,
      Optional<Failure> failure) {
    public boolean ok() {
      return failure.isEmpty();
    }

    @Override
    public String toString() {
      return (ok() ? "OK: " : "FAILED at " + failure.get() + "; before it: ") + records
          + " records" + (records > 0 ? " (seq " + firstSeq + ".." + lastSeq + ", head "
          + head.hex() + ")" : "") + ", " + checkpoints + " checkpoint(s)"
          + (signaturesChecked ? " signed by a trusted key" : " (signatures NOT checked)")
          + ", " + unsignedTail + " record(s) after the last checkpoint";
    }
  }
}
