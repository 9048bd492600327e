package io.perishable.token;

import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.PKCS8EncodedKeySpec;

/**
 * An Ed25519 private key with its id. Lives only in the control plane. {@link #toString()}
 * never shows key material.
 */
public final class SigningKey {
  private final String keyId;
  private final PrivateKey privateKey;
  private final PublicKey publicKey;
  private final byte[] rawPublicKey;
  private final long createdAtMs;

  private SigningKey(PrivateKey privateKey, PublicKey publicKey, long createdAtMs) {
    this.privateKey = privateKey;
    this.publicKey = publicKey;
    this.rawPublicKey = Ed25519PublicKeys.toRaw(publicKey);
    this.keyId = Ed25519PublicKeys.keyId(rawPublicKey);
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
    try {
      Signature signer = Signature.getInstance("Ed25519");
      signer.initSign(privateKey);
      signer.update(TokenFormat.SIGNATURE_DOMAIN);
      signer.update(message);
      return signer.sign();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("Ed25519 signing failed", e);
    }
  }

  @Override
  public String toString() {
    return "SigningKey[" + keyId + "]";
  }
}
