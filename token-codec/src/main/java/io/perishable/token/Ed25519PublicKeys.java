package io.perishable.token;

import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.util.Arrays;
import java.util.HexFormat;

/**
 * Conversions between the JDK's Ed25519 {@link PublicKey} and the raw 32-byte RFC 8032 form
 * that travels on the Sync stream, and the key id derived from it.
 */
public final class Ed25519PublicKeys {
  /** DER prefix of an X.509 SubjectPublicKeyInfo holding a raw Ed25519 key (RFC 8410). */
  private static final byte[] SPKI_PREFIX = HexFormat.of().parseHex("302a300506032b6570032100");

  public static final int RAW_BYTES = 32;

  private Ed25519PublicKeys() {}

  /** The raw 32-byte key inside a JDK Ed25519 public key. */
  public static byte[] toRaw(PublicKey key) {
    byte[] spki = key.getEncoded();
    if (spki.length != SPKI_PREFIX.length + RAW_BYTES
        || !Arrays.equals(spki, 0, SPKI_PREFIX.length, SPKI_PREFIX, 0, SPKI_PREFIX.length)) {
      throw new IllegalArgumentException("not an Ed25519 public key");
    }
    return Arrays.copyOfRange(spki, SPKI_PREFIX.length, spki.length);
  }

  /** A JDK public key from its raw 32 bytes. */
  public static PublicKey fromRaw(byte[] raw) {
    if (raw.length != RAW_BYTES) {
      throw new IllegalArgumentException(
          "an Ed25519 public key has " + RAW_BYTES + " bytes, got " + raw.length);
    }
    byte[] spki = new byte[SPKI_PREFIX.length + RAW_BYTES];
    System.arraycopy(SPKI_PREFIX, 0, spki, 0, SPKI_PREFIX.length);
    System.arraycopy(raw, 0, spki, SPKI_PREFIX.length, RAW_BYTES);
    try {
      return KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(spki));
    } catch (GeneralSecurityException e) {
      throw new IllegalArgumentException("invalid Ed25519 public key", e);
    }
  }

  /**
   * Key id: the first 8 bytes of SHA-256 over the raw key, as 16 lowercase hex characters.
   * Derived, so a key id can never name two different keys by mistake.
   */
  public static String keyId(byte[] raw) {
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256").digest(raw);
      return HexFormat.of().formatHex(digest, 0, 8);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required of every JDK", e);
    }
  }
}
