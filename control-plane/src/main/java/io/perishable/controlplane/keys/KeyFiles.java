package io.perishable.controlplane.keys;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.EnumSet;
import java.util.Properties;
import java.util.Set;

/**
 * Private key files on disk, as both the token-signing keys and the audit-checkpoint keys keep
 * them: a 0700 directory, 0600 files written atomically and durably, and a refusal to use a
 * file that group or others can read (a key that may have leaked is worse than a service that
 * does not start).
 */
public final class KeyFiles {
  private static final Set<PosixFilePermission> OWNER_ONLY_FILE =
      EnumSet.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE);
  private static final Set<PosixFilePermission> OWNER_ONLY_DIR = EnumSet.of(
      PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE,
      PosixFilePermission.OWNER_EXECUTE);

  private KeyFiles() {}

  /** Creates {@code dir} if needed and makes it owner-only (0700). */
  public static void ownerOnlyDirectory(Path dir) throws IOException {
    Files.createDirectories(dir);
    Files.setPosixFilePermissions(dir, OWNER_ONLY_DIR);
  }

  /**
   * Reads a key file's properties after checking it is readable by its owner only.
   *
   * @param what how messages name the file, e.g. "signing key"
   */
  public static Properties readOwnerOnly(Path file, String what) throws IOException {
    Set<PosixFilePermission> perms = Files.getPosixFilePermissions(file);
    if (!OWNER_ONLY_FILE.containsAll(perms)) {
      throw new IllegalStateException(what + " " + file + " has permissions "
          + PosixFilePermissions.toString(perms) + "; it must be readable by its owner only"
          + " (chmod 600)");
    }
    Properties p = new Properties();
    try (var in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      p.load(in);
    }
    return p;
  }

  /**
   * Writes {@code text} to {@code target}: owner-only from the first byte, fsynced, then moved
   * into place atomically, so a crash leaves either no file or the whole file.
   *
   * @throws IllegalStateException if {@code target} already exists
   */
  public static void writeOwnerOnly(Path target, String text) throws IOException {
    Path dir = target.toAbsolutePath().getParent();
    Path tmp = Files.createTempFile(dir, ".key-", ".tmp",
        PosixFilePermissions.asFileAttribute(OWNER_ONLY_FILE));
    try {
      Files.writeString(tmp, text, StandardCharsets.UTF_8);
      try (FileChannel channel = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
        channel.force(true);
      }
      if (Files.exists(target)) {
        throw new FileAlreadyExistsException(target.toString());
      }
      try {
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, target);
      }
    } catch (FileAlreadyExistsException e) {
      throw new IllegalStateException("key file " + target + " already exists");
    } finally {
      Files.deleteIfExists(tmp);
    }
  }
}
