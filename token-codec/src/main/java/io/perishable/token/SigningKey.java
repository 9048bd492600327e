package io.perishable.token;

import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.interfaces.EdECPrivateKey;
import java.security.spec.PKCS8EncodedKeySpec;
import org.bouncycastle.math.ec.rfc8032.Ed25519;

/**
 * An Ed25519 private key with its id. Lives only in the control plane. {@link #toString()}
 * never shows key material.
 *
 * <p>Keys are made, stored and read with the JDK ({@code KeyPairGenerator}, PKCS#8); signing
 * uses Bouncy Castle's RFC 8032 Ed25519, which is deterministic like every Ed25519 (the same key
 * and message give the same 64 bytes as the JDK's signer, a test checks it) but costs about
 * 30 µs per signature where the JDK 17's costs 800 µs and more: signing was most of an Issue's
 * CPU time. Verification stays with the JDK ({@link TokenSignatures}).
 */
public final class SigningKey {
  private final String keyId;
  private final PrivateKey privateKey;
  private final PublicKey publicKey;
  private final byte[] rawPublicKey;
  /** The RFC 8032 private key: the 32-byte seed. */
  private final byte[] seed;
  private final long createdAtMs;

  private SigningKey(PrivateKey privateKey, PublicKey publicKey, long createdAtMs) {
    this.privateKey = privateKey;
    this.publicKey = publicKey;
    this.rawPublicKey = Ed25519PublicKeys.toRaw(publicKey);
    this.keyId = Ed25519PublicKeys.keyId(rawPublicKey);
    this.seed = ((EdECPrivateKey) privateKey).getBytes().orElseThrow(
        () -> new IllegalArgumentException("Ed25519 private key without its 32-byte seed"));
    this.createdAtMs = createdAtMs;
  }

  /** A fresh random key. */
  public static SigningKey generate(long createdAtMs) {
    try {
      KeyPair pair = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
      return new SigningKey(pair.getPrivate(), pair.getPublic(), createdAtMs);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("Ed25519 is required of every JDK from 15 on", e);
    }
  }

  /**
   * Restores a key from its PKCS#8 encoding (as written by {@link #pkcs8()}) and its raw
   * public half.
   */
  public static SigningKey fromPkcs8(byte[] pkcs8, byte[] rawPublicKey, long createdAtMs) {
    try {
      PrivateKey privateKey =
          KeyFactory.getInstance("Ed25519").generatePrivate(new PKCS8EncodedKeySpec(pkcs8));
      SigningKey key =
          new SigningKey(privateKey, Ed25519PublicKeys.fromRaw(rawPublicKey), createdAtMs);
      // A private key stored beside the wrong public key would sign tokens nobody can verify.
      byte[] probe = {1, 2, 3};
      if (!TokenSignatures.verify(key.publicKey, probe, key.sign(probe))) {
        throw new IllegalArgumentException("private and public key do not belong together");
      }
      return key;
    } catch (GeneralSecurityException e) {
      throw new IllegalArgumentException("invalid Ed25519 private key", e);
    }
  }

  public String keyId() {
    return keyId;
  }

  public PublicKey publicKey() {
    return publicKey;
  }

  /** The raw 32-byte public key (a copy). */
  public byte[] rawPublicKey() {
    return rawPublicKey.clone();
  }

  public long createdAtMs() {
    return createdAtMs;
  }

  /** The private key in PKCS#8 DER, for storage with owner-only permissions. */
  public byte[] pkcs8() {
    return privateKey.getEncoded();
  }

  /** Signs {@code domain || message}. */
  byte[] sign(byte[] message) {
    byte[] signed = new byte[TokenFormat.SIGNATURE_DOMAIN.length + message.length];
    System.arraycopy(TokenFormat.SIGNATURE_DOMAIN, 0, signed, 0,
        TokenFormat.SIGNATURE_DOMAIN.length);
    System.arraycopy(message, 0, signed, TokenFormat.SIGNATURE_DOMAIN.length, message.length);
    byte[] signature = new byte[Ed25519.SIGNATURE_SIZE];
    // The public key passed in is not checked against the seed here; fromPkcs8 checks that
    // they belong together, and generate derives both from one pair.
    Ed25519.sign(seed, 0, rawPublicKey, 0, signed, 0, signed.length, signature, 0);
    return signature;
  }

  @Override
  public String toString() {
    return "SigningKey[" + keyId + "]";
  }
}
