package io.perishable.controlplane.journal;

import io.perishable.controlplane.audit.AuditEventType;
import io.perishable.controlplane.audit.AuditRecord;
import io.perishable.controlplane.audit.ChainHash;
import io.perishable.controlplane.audit.CheckpointKeys;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.regex.Pattern;

/**
 * State snapshots beside the audit log: {@code <dir>/snapshot-<seq, 20 digits>.bin}, each the
 * {@link RebuiltState} as of a {@code checkpoint} record, bound to that record and signed with
 * the audit checkpoint key.
 *
 * <p><b>File.</b> {@code "PRSSNAP1"}, the checkpoint record's seq (8 bytes big-endian), its hash
 * (32 bytes) and time (8 bytes), the state; then the checkpoint key's id (16 ASCII hex
 * characters) and an Ed25519 signature (64 bytes) over {@code "perishable-state-snapshot-v1"
 * 0x00 ‖ seq ‖ hash ‖ SHA-256(everything before the key id)} ({@link
 * CheckpointKeys#signStateSnapshot}). Written to a temporary file, fsynced, renamed into place,
 * and the directory fsynced: a crash leaves the old snapshot or the new one, never half of one.
 *
 * <p><b>Trust.</b> {@link StateReplay#rebuild} uses a snapshot only if its signature verifies with a trusted checkpoint
 * key <em>and</em> the (already verified) log holds, at its seq, a checkpoint record with its
 * hash and time. So an edited, truncated, foreign or stale snapshot (one from before a
 * quarantined tail was cut off, or from another log) is refused, and restart falls back to the
 * next older snapshot, then to a replay from seq 1.
 */
public final class StateSnapshots {
  private static final Logger LOG = Logger.getLogger(StateSnapshots.class.getName());
  private static final byte[] MAGIC = "PRSSNAP1".getBytes(StandardCharsets.US_ASCII);
  private static final Pattern NAME = Pattern.compile("snapshot-(\\d{20})\\.bin");
  private static final int KEY_ID_BYTES = 16;
  private static final int SIGNATURE_BYTES = 64;
  private static final int TRAILER = KEY_ID_BYTES + SIGNATURE_BYTES;
  /** Snapshots kept: the newest and one to fall back on. */
  static final int KEEP = 2;

  private final Path dir;
  private final CheckpointKeys keys;

  /**
   * A snapshot found unusable on start.
   *
   * @param file the snapshot file
   * @param reason why it was not used
   */
  public record Rejected(Path file, String reason) {}

  /**
   * @param dir where snapshots live (created on the first write)
   * @param keys sign new snapshots and verify stored ones
   */
  public StateSnapshots(Path dir, CheckpointKeys keys) {
    this.dir = dir;
    this.keys = keys;
  }

  public Path directory() {
    return dir;
  }

  /** The snapshot files present, newest (highest seq) first. */
  public List<Path> files() {
    List<Path> out = new ArrayList<>();
    if (!Files.isDirectory(dir)) {
      return out;
    }
    try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "snapshot-*.bin")) {
      for (Path f : files) {
        if (NAME.matcher(f.getFileName().toString()).matches()) {
          out.add(f);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list state snapshots in " + dir, e);
    }
    out.sort(Comparator.comparing((Path p) -> p.getFileName().toString()).reversed());
    return out;
  }

  /**
   * Writes {@code state}, which must have just folded the checkpoint record {@code checkpoint},
   * atomically; then deletes all but the newest {@value #KEEP} snapshots.
   */
  void write(RebuiltState state, AuditRecord checkpoint) throws IOException {
    if (checkpoint.type() != AuditEventType.CHECKPOINT || checkpoint.seq() != state.seq()) {
      throw new IllegalArgumentException("a snapshot is taken at a checkpoint record: state at "
          + state.seq() + ", record " + checkpoint.seq() + " " + checkpoint.type());
    }
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(1 << 16);
    DataOutputStream out = new DataOutputStream(bytes);
    out.write(MAGIC);
    out.writeLong(checkpoint.seq());
    out.write(checkpoint.hash().bytes());
    out.writeLong(checkpoint.timeMs());
    state.writeTo(out);
    out.flush();
    byte[] digest = sha256(bytes.toByteArray(), bytes.size());
    out.write(keys.currentKeyId().getBytes(StandardCharsets.US_ASCII));
    out.write(keys.signStateSnapshot(checkpoint.seq(), checkpoint.hash(), digest));
    out.flush();

    Files.createDirectories(dir);
    String name = String.format("snapshot-%020d.bin", checkpoint.seq());
    Path tmp = dir.resolve(name + ".tmp");
    try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE,
        StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
      ByteBuffer buf = ByteBuffer.wrap(bytes.toByteArray());
      while (buf.hasRemaining()) {
        ch.write(buf);
      }
      ch.force(true);
    }
    Files.move(tmp, dir.resolve(name), StandardCopyOption.ATOMIC_MOVE,
        StandardCopyOption.REPLACE_EXISTING);
    syncDirectory();
    List<Path> all = files();
    for (int i = KEEP; i < all.size(); i++) {
      Files.deleteIfExists(all.get(i));
    }
    // Temporary files a crash left behind mid-write.
    try (DirectoryStream<Path> stale = Files.newDirectoryStream(dir, "snapshot-*.bin.tmp")) {
      for (Path f : stale) {
        Files.deleteIfExists(f);
      }
    }
  }

  /** Logs and describes a snapshot that cannot be used. */
  static Rejected rejected(Path file, Exception e) {
    String reason = e.getMessage() == null ? e.toString() : e.getMessage();
    LOG.log(Level.WARNING, "state snapshot " + file + " not used: " + reason
        + "; falling back to an older snapshot or a replay from seq 1");
    return new Rejected(file, reason);
  }

  /**
   * A snapshot whose signature verified, not yet checked against the log.
   *
   * @param seq the checkpoint record's seq
   * @param hash its hash
   * @param timeMs its time
   */
  record Signed(long seq, ChainHash hash, long timeMs, RebuiltState state) {
    /** Whether {@code at}, the log's record at {@link #seq}, is the checkpoint it was taken at. */
    void checkBinding(AuditRecord at) throws IOException {
      if (at.seq() != seq || at.type() != AuditEventType.CHECKPOINT || !at.hash().equals(hash)
          || at.timeMs() != timeMs) {
        throw new IOException("the log's record at seq " + seq + " is not the checkpoint it"
            + " was taken at (a snapshot of another or a rewritten log)");
      }
    }
  }

  /**
   * Reads {@code file} and checks its signature (not yet its binding to a log: {@link
   * Signed#checkBinding}).
   */
  Signed read(Path file) throws IOException {
    byte[] bytes = Files.readAllBytes(file);
    int body = bytes.length - TRAILER;
    if (body < MAGIC.length + 8 + ChainHash.BYTES + 8
        || !Arrays.equals(bytes, 0, MAGIC.length, MAGIC, 0, MAGIC.length)) {
      throw new IOException("not a state snapshot (bad header or too short)");
    }
    ByteBuffer header = ByteBuffer.wrap(bytes, MAGIC.length, 8 + ChainHash.BYTES + 8);
    long seq = header.getLong();
    byte[] hashBytes = new byte[ChainHash.BYTES];
    header.get(hashBytes);
    ChainHash hash = new ChainHash(hashBytes);
    long timeMs = header.getLong();
    String keyId = new String(bytes, body, KEY_ID_BYTES, StandardCharsets.US_ASCII);
    byte[] signature = Arrays.copyOfRange(bytes, body + KEY_ID_BYTES, bytes.length);
    if (!keys.verifyStateSnapshot(keyId, seq, hash, sha256(bytes, body), signature)) {
      throw new IOException("bad signature (edited, damaged, or signed by an untrusted key)");
    }
    int offset = MAGIC.length + 8 + ChainHash.BYTES + 8;
    RebuiltState state = RebuiltState.readFrom(new DataInputStream(
        new ByteArrayInputStream(bytes, offset, body - offset)));
    if (state.seq() != seq) {
      throw new IOException("state at seq " + state.seq() + " in a snapshot named for " + seq);
    }
    return new Signed(seq, hash, timeMs, state);
  }

  private void syncDirectory() {
    try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
      d.force(true);
    } catch (IOException e) {
      // Some platforms cannot open a directory; the file itself is fsynced regardless.
      LOG.log(Level.FINE, "directory fsync not supported: " + e);
    }
  }

  private static byte[] sha256(byte[] bytes, int length) {
    try {
      MessageDigest d = MessageDigest.getInstance("SHA-256");
      d.update(bytes, 0, length);
      return d.digest();
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required of every JDK", e);
    }
  }
}
