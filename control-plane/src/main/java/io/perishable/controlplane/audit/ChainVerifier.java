package io.perishable.controlplane.audit;

import io.perishable.token.Ed25519PublicKeys;
import java.security.PublicKey;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Checks export lines in order: canonical form, seq continuity, {@code hash = BLAKE3(prev_hash ‖
 * canonical bytes)}, {@code prev_hash} = the previous record's hash, and checkpoint signatures.
 * Shared by {@link AuditVerifier} and by {@link FileAuditLog}'s recovery on open.
 *
 * <p>The work is split in two so that it can run in parallel ({@link ChainScan}): {@link
 * LineChecker#check} does everything a line can tell on its own (parse, hash, signature) and
 * may run on any thread; {@link #link} then walks the results in order and checks what ties
 * lines together (seqs and prev_hash), reporting problems in one fixed order per line. Not
 * thread-safe; each {@link LineChecker} is single-threaded.
 */
final class ChainVerifier {
  /** What one line says about itself. Reused: {@link LineChecker#check} overwrites it. */
  static final class LineCheck {
    /** Why the line cannot be read as a record (not JSON, not canonical), or null. */
    String error;
    /** Its seq (when readable), or the seq it seems to claim (when not; -1 if none). */
    long seq;
    long timeMs;
    boolean checkpoint;
    final byte[] prev = new byte[ChainHash.BYTES];
    final byte[] hash = new byte[ChainHash.BYTES];
    /** Whether {@code hash} is BLAKE3(prev ‖ canonical bytes). */
    boolean hashOk;
    /** For a checkpoint, why its signature does not hold, or null. */
    String checkpointError;
  }

  /** The line-local half; one per thread. */
  static final class LineChecker {
    private final Map<String, PublicKey> trusted;
    private final ChainHasher hasher = new ChainHasher();
    private final CanonicalJson.Sink scratch = new CanonicalJson.Sink(512);
    private final FastLineScanner fast = new FastLineScanner();
    private final byte[] computed = new byte[ChainHash.BYTES];

    LineChecker(Map<String, PublicKey> trusted) {
      this.trusted = trusted;
    }

    void check(byte[] buf, int off, int len, LineCheck out) {
      out.error = null;
      out.checkpointError = null;
      out.checkpoint = false;
      int canonicalEnd;
      if (fast.scan(buf, off, len)) {
        out.seq = fast.seq;
        out.timeMs = fast.timeMs;
        System.arraycopy(fast.prev, 0, out.prev, 0, ChainHash.BYTES);
        System.arraycopy(fast.hash, 0, out.hash, 0, ChainHash.BYTES);
        canonicalEnd = fast.canonicalEnd;
      } else {
        AuditRecord r;
        try {
          CanonicalJson.Parsed parsed = CanonicalJson.parseLine(buf, off, len, scratch);
          r = parsed.record();
          canonicalEnd = parsed.canonicalEnd();
        } catch (CanonicalJson.Malformed e) {
          out.error = e.getMessage();
          out.seq = CanonicalJson.peekSeq(buf, off, len);
          return;
        }
        out.seq = r.seq();
        out.timeMs = r.timeMs();
        System.arraycopy(r.prevHash().unsafeBytes(), 0, out.prev, 0, ChainHash.BYTES);
        System.arraycopy(r.hash().unsafeBytes(), 0, out.hash, 0, ChainHash.BYTES);
        if (r.type() == AuditEventType.CHECKPOINT) {
          out.checkpoint = true;
          out.checkpointError = checkCheckpoint(r);
        }
      }
      hasher.digest(out.prev, buf, off, canonicalEnd - off, '}', computed);
      out.hashOk = Arrays.equals(computed, out.hash);
    }

    private String checkCheckpoint(AuditRecord r) {
      if (r.checkpointSeq() != r.seq() - 1 || !r.checkpointHash().equals(r.prevHash())) {
        return "bad checkpoint: it must sign the record just before it";
      }
      if (trusted.isEmpty()) {
        return null;
      }
      PublicKey key = trusted.get(r.keyId());
      if (key == null) {
        return "bad checkpoint signature: key " + r.keyId() + " is not trusted";
      }
      if (!CheckpointSignatures.verify(key, r.checkpointSeq(), r.checkpointHash(),
          HexFormat.of().parseHex(r.signature()))) {
        return "bad checkpoint signature";
      }
      return null;
    }
  }

  private final Map<String, PublicKey> trusted;
  private final boolean fromGenesis;
  private final byte[] headBytes = new byte[ChainHash.BYTES];

  long records;
  long firstSeq = -1;
  long lastSeq;
  long lastTimeMs;
  long checkpoints;
  long lastCheckpointSeq;
  long recordsSinceCheckpoint;
  long lastCheckpointTimeMs;

  /**
   * @param trustedKeys raw Ed25519 checkpoint keys; empty = signatures are not checked
   * @param fromGenesis true when the first line must be seq 1 (a whole log); false for an
   *     export that may start anywhere (its first prev_hash is then taken as given)
   */
  ChainVerifier(Iterable<byte[]> trustedKeys, boolean fromGenesis) {
    Map<String, PublicKey> keys = new LinkedHashMap<>();
    for (byte[] raw : trustedKeys) {
      keys.put(Ed25519PublicKeys.keyId(raw), Ed25519PublicKeys.fromRaw(raw));
    }
    this.trusted = Map.copyOf(keys);
    this.fromGenesis = fromGenesis;
  }

  /** A line checker (for one thread) trusting the same keys. */
  LineChecker newLineChecker() {
    return new LineChecker(trusted);
  }

  /** The hash of the last good record ({@link ChainHash#GENESIS} if none). */
  ChainHash head() {
    return new ChainHash(headBytes);
  }

  boolean checksSignatures() {
    return !trusted.isEmpty();
  }

  /** The seq the next line should carry, or -1 while unknown (export not from genesis). */
  long expectedSeq() {
    return records == 0 ? (fromGenesis ? 1 : -1) : lastSeq + 1;
  }

  /** The seq to name for a bad line that claims {@code claimedSeq} (-1: claims none). */
  long seqToBlame(long claimedSeq) {
    long expected = expectedSeq();
    return expected >= 0 ? expected : Math.max(claimedSeq, 0);
  }

  /** Takes the next line's check into the chain; returns null if good, else why not. */
  String link(LineCheck c) {
    if (c.error != null) {
      return c.error;
    }
    long expected = expectedSeq();
    if (expected >= 0 && c.seq != expected) {
      return (c.seq > expected ? "seq gap: expected " : "seq out of order: expected ")
          + expected + " got " + c.seq;
    }
    if (c.seq == 1 && !Arrays.equals(c.prev, ChainHash.GENESIS.unsafeBytes())) {
      return "prev_hash of seq 1 must be 32 zero bytes";
    }
    if (!c.hashOk) {
      return "hash mismatch";
    }
    if (records > 0 && !Arrays.equals(c.prev, headBytes)) {
      return "prev_hash mismatch: it is not the hash of seq " + lastSeq;
    }
    if (c.checkpointError != null) {
      return c.checkpointError;
    }
    if (records == 0) {
      firstSeq = c.seq;
    }
    records++;
    lastSeq = c.seq;
    System.arraycopy(c.hash, 0, headBytes, 0, ChainHash.BYTES);
    lastTimeMs = c.timeMs;
    if (c.checkpoint) {
      checkpoints++;
      lastCheckpointSeq = c.seq;
      lastCheckpointTimeMs = c.timeMs;
      recordsSinceCheckpoint = 0;
    } else {
      recordsSinceCheckpoint++;
    }
    return null;
  }
}
