package io.perishable.controlplane.audit;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;

/**
 * What a checkpoint signs: {@code "perishable-audit-checkpoint-v1" 0x00 ‖ u64be(checkpoint_seq)
 * ‖ checkpoint_hash (32 bytes)}, with Ed25519. The domain prefix keeps a checkpoint signature
 * from ever being mistaken for any other signature.
 */
final class CheckpointSignatures {
  static final byte[] DOMAIN =
      "perishable-audit-checkpoint-v1\0".getBytes(StandardCharsets.US_ASCII);

  /** Domain of a state snapshot's signature (see {@link CheckpointKeys#signStateSnapshot}). */
  static final byte[] SNAPSHOT_DOMAIN =
      "perishable-state-snapshot-v1\0".getBytes(StandardCharsets.US_ASCII);

  private CheckpointSignatures() {}

  static byte[] snapshotMessage(long seq, ChainHash hash, byte[] digest) {
    return ByteBuffer.allocate(SNAPSHOT_DOMAIN.length + 8 + ChainHash.BYTES + digest.length)
        .put(SNAPSHOT_DOMAIN).putLong(seq).put(hash.unsafeBytes()).put(digest).array();
  }

  static byte[] signMessage(PrivateKey key, byte[] message) {
    try {
      Signature s = Signature.getInstance("Ed25519");
      s.initSign(key);
      s.update(message);
      return s.sign();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("Ed25519 signing failed", e);
    }
  }

  static boolean verifyMessage(PublicKey key, byte[] message, byte[] signature) {
    try {
      Signature s = Signature.getInstance("Ed25519");
      s.initVerify(key);
      s.update(message);
      return s.verify(signature);
    } catch (GeneralSecurityException e) {
      return false;
    }
  }

  static byte[] message(long headSeq, ChainHash headHash) {
    return ByteBuffer.allocate(DOMAIN.length + 8 + ChainHash.BYTES)
        .put(DOMAIN).putLong(headSeq).put(headHash.unsafeBytes()).array();
  }

  static byte[] sign(PrivateKey key, long headSeq, ChainHash headHash) {
    try {
      Signature s = Signature.getInstance("Ed25519");
      s.initSign(key);
      s.update(message(headSeq, headHash));
      return s.sign();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("Ed25519 signing failed", e);
    }
  }

  static boolean verify(PublicKey key, long headSeq, ChainHash headHash, byte[] signature) {
    try {
      Signature s = Signature.getInstance("Ed25519");
      s.initVerify(key);
      s.update(message(headSeq, headHash));
      return s.verify(signature);
    } catch (GeneralSecurityException e) {
      return false;
    }
  }
}
