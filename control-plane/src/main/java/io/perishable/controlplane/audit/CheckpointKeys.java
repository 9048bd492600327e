package io.perishable.controlplane.audit;

import io.perishable.controlplane.keys.KeyFiles;
import io.perishable.token.Ed25519PublicKeys;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/**
 * The Ed25519 keys that sign audit checkpoints: separate from the token-signing keys, on disk as
 * {@code <data_dir>/keys/checkpoint-<key id>.key}, mode 0600 in a 0700 directory (the same
 * conventions as the token {@code SigningKeyStore}, whose {@code signing-*.key} files these
 * names never match). The first open generates a key; the newest key signs, older ones stay
 * trusted for the checkpoints they signed.
 *
 * <p>Losing the key file makes old checkpoints unverifiable: the log then refuses to open (an
 * unknown checkpoint key looks exactly like a forgery), so back the key up with the data.
 * Give {@link #publicKeys()} to anyone who verifies exports ({@link AuditVerifier}); without the
 * public key a verifier can check the chain but not who wrote it.
 */
public final class CheckpointKeys {
  private record Key(String keyId, PrivateKey privateKey, byte[] rawPublic, long createdAtMs) {}

  private final Path dir;
  private final List<Key> keys;

  private CheckpointKeys(Path dir, List<Key> keys) {
    this.dir = dir;
    this.keys = List.copyOf(keys);
  }

  /** Loads the checkpoint keys under {@code dataDir/keys}, generating the first if none. */
  public static CheckpointKeys open(Path dataDir, Clock clock) {
    Path dir = dataDir.resolve("keys");
    try {
      KeyFiles.ownerOnlyDirectory(dir);
      List<Key> keys = new ArrayList<>();
      try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "checkpoint-*.key")) {
        for (Path file : files) {
          keys.add(read(file));
        }
      }
      if (keys.isEmpty()) {
        keys.add(generateAndWrite(dir, clock.millis()));
      }
      keys.sort(Comparator.comparingLong(Key::createdAtMs));
      return new CheckpointKeys(dir, keys);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot open audit checkpoint keys in " + dir, e);
    }
  }

  /** Id of the key that signs new checkpoints (16 hex characters, as token key ids). */
  public String currentKeyId() {
    return current().keyId();
  }

  /** Raw 32-byte public half of the current key (a copy). */
  public byte[] currentPublicKey() {
    return current().rawPublic().clone();
  }

  /** Every trusted public key (raw 32 bytes, copies), by key id, oldest first. */
  public Map<String, byte[]> publicKeys() {
    Map<String, byte[]> out = new LinkedHashMap<>();
    for (Key k : keys) {
      out.put(k.keyId(), k.rawPublic().clone());
    }
    return out;
  }

  public Path directory() {
    return dir;
  }

  /** Signs a checkpoint of the head {@code (headSeq, headHash)}; lowercase hex. */
  String sign(long headSeq, ChainHash headHash) {
    return HexFormat.of().formatHex(
        CheckpointSignatures.sign(current().privateKey(), headSeq, headHash));
  }

  /**
   * Signs a state snapshot taken at the checkpoint record {@code (seq, hash)} whose bytes have
   * SHA-256 {@code digest}: Ed25519 over {@code "perishable-state-snapshot-v1" 0x00 ‖
   * u64be(seq) ‖ hash ‖ digest} with the current key, a domain no checkpoint signature shares.
   *
   * @return the signature (64 bytes)
   */
  public byte[] signStateSnapshot(long seq, ChainHash hash, byte[] digest) {
    return CheckpointSignatures.signMessage(current().privateKey(),
        CheckpointSignatures.snapshotMessage(seq, hash, digest));
  }

  /** Whether {@code signature} by the trusted key {@code keyId} signs that snapshot. */
  public boolean verifyStateSnapshot(String keyId, long seq, ChainHash hash, byte[] digest,
      byte[] signature) {
    for (Key k : keys) {
      if (k.keyId().equals(keyId)) {
        try {
          return CheckpointSignatures.verifyMessage(Ed25519PublicKeys.fromRaw(k.rawPublic()),
              CheckpointSignatures.snapshotMessage(seq, hash, digest), signature);
        } catch (IllegalArgumentException e) {
          return false;
        }
      }
    }
    return false;
  }

  private Key current() {
    return keys.get(keys.size() - 1);
  }

  @Override
  public String toString() {
    return "CheckpointKeys[" + currentKeyId() + "]";
  }

  private static Key read(Path file) throws IOException {
    Properties p = KeyFiles.readOwnerOnly(file, "audit checkpoint key");
    try {
      byte[] raw = Base64.getDecoder().decode(p.getProperty("public", ""));
      PublicKey publicKey = Ed25519PublicKeys.fromRaw(raw);
      PrivateKey privateKey = KeyFactory.getInstance("Ed25519").generatePrivate(
          new PKCS8EncodedKeySpec(
              Base64.getDecoder().decode(p.getProperty("private_pkcs8", ""))));
      String keyId = Ed25519PublicKeys.keyId(raw);
      if (!keyId.equals(p.getProperty("key_id"))) {
        throw new IllegalStateException("audit checkpoint key " + file + " names key id "
            + p.getProperty("key_id") + " but holds key " + keyId);
      }
      // A private key stored beside the wrong public key would sign unverifiable checkpoints.
      if (!CheckpointSignatures.verify(publicKey, 0, ChainHash.GENESIS,
          CheckpointSignatures.sign(privateKey, 0, ChainHash.GENESIS))) {
        throw new IllegalStateException(
            "audit checkpoint key " + file + ": private and public key do not belong together");
      }
      return new Key(keyId, privateKey, raw, Long.parseLong(p.getProperty("created_at_ms", "0")));
    } catch (IllegalArgumentException | GeneralSecurityException e) {
      throw new IllegalStateException(
          "audit checkpoint key " + file + " is damaged: " + e.getMessage());
    }
  }

  private static Key generateAndWrite(Path dir, long nowMs) throws IOException {
    KeyPair pair;
    try {
      pair = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("Ed25519 is required of every JDK from 15 on", e);
    }
    byte[] raw = Ed25519PublicKeys.toRaw(pair.getPublic());
    Key key = new Key(Ed25519PublicKeys.keyId(raw), pair.getPrivate(), raw, nowMs);
    String text = "# perishable audit-checkpoint signing key: keep secret, back up with the log\n"
        + "key_id=" + key.keyId() + "\n"
        + "created_at_ms=" + nowMs + "\n"
        + "public=" + Base64.getEncoder().encodeToString(raw) + "\n"
        + "private_pkcs8=" + Base64.getEncoder().encodeToString(pair.getPrivate().getEncoded())
        + "\n";
    KeyFiles.writeOwnerOnly(dir.resolve("checkpoint-" + key.keyId() + ".key"), text);
    return key;
  }
}
