package io.perishable.controlplane.keys;

import io.perishable.token.SigningKey;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Properties;

/**
 * Signing keys on disk under {@code <data_dir>/keys}: one {@code signing-<key id>.key} file per
 * key, mode 0600 in a 0700 directory. The newest key signs; older ones are kept so their public
 * halves keep verifying the tokens they signed.
 *
 * <p>Opening refuses to use a key file that group or others can read: a private key that may
 * have leaked is worse than a control plane that does not start.
 */
public final class SigningKeyStore {
  private final Path dir;
  private final List<SigningKey> keys;

  private SigningKeyStore(Path dir, List<SigningKey> keys) {
    this.dir = dir;
    this.keys = List.copyOf(keys);
  }

  /** Loads the keys under {@code dataDir/keys}, generating the first one if there is none. */
  public static SigningKeyStore open(Path dataDir, Clock clock) {
    Path dir = dataDir.resolve("keys");
    try {
      KeyFiles.ownerOnlyDirectory(dir);
      List<SigningKey> keys = new ArrayList<>();
      try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "signing-*.key")) {
        for (Path file : files) {
          keys.add(read(file));
        }
      }
      if (keys.isEmpty()) {
        SigningKey first = SigningKey.generate(clock.millis());
        write(dir, first);
        keys.add(first);
      }
      keys.sort(Comparator.comparingLong(SigningKey::createdAtMs));
      return new SigningKeyStore(dir, keys);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot open signing keys in " + dir, e);
    }
  }

  /** The key that signs new tokens: the newest. */
  public SigningKey current() {
    return keys.get(keys.size() - 1);
  }

  /** Every key whose public half verifiers need, oldest first. */
  public List<SigningKey> all() {
    return keys;
  }

  public Path directory() {
    return dir;
  }

  private static SigningKey read(Path file) throws IOException {
    Properties p = KeyFiles.readOwnerOnly(file, "signing key");
    try {
      SigningKey key = SigningKey.fromPkcs8(
          Base64.getDecoder().decode(p.getProperty("private_pkcs8", "")),
          Base64.getDecoder().decode(p.getProperty("public", "")),
          Long.parseLong(p.getProperty("created_at_ms", "0")));
      if (!key.keyId().equals(p.getProperty("key_id"))) {
        throw new IllegalStateException("signing key " + file + " names key id "
            + p.getProperty("key_id") + " but holds key " + key.keyId());
      }
      return key;
    } catch (IllegalArgumentException e) {
      throw new IllegalStateException("signing key " + file + " is damaged: " + e.getMessage());
    }
  }

  private static void write(Path dir, SigningKey key) throws IOException {
    String text = "# perishable token-signing key: keep secret\n"
        + "key_id=" + key.keyId() + "\n"
        + "created_at_ms=" + key.createdAtMs() + "\n"
        + "public=" + Base64.getEncoder().encodeToString(key.rawPublicKey()) + "\n"
        + "private_pkcs8=" + Base64.getEncoder().encodeToString(key.pkcs8()) + "\n";
    KeyFiles.writeOwnerOnly(dir.resolve("signing-" + key.keyId() + ".key"), text);
  }
}
