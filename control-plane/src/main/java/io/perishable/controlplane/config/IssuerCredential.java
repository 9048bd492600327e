package io.perishable.controlplane.config;

import java.util.Arrays;
import java.util.HexFormat;

/**
 * A caller allowed to mint tokens, identified by the SHA-256 of its secret. The secret itself
 * is never stored: operators put {@code secret_sha256} in the config file. Secrets must be
 * high-entropy random strings (the CLI's {@code issuer-secret} command makes one), which is
 * why a plain hash is enough: there is nothing to brute-force.
 */
public record IssuerCredential(String id, byte[] secretSha256) {
  public IssuerCredential {
    if (id == null || !id.matches("[A-Za-z0-9._-]{1,64}")) {
      throw new IllegalArgumentException(
          "issuer id must be 1-64 characters of [A-Za-z0-9._-], got '" + id + "'");
    }
    if (secretSha256 == null || secretSha256.length != 32) {
      throw new IllegalArgumentException(
          "issuer " + id + ": secret_sha256 must be 64 hex characters (a SHA-256 digest)");
    }
    secretSha256 = secretSha256.clone();
  }

  /** From the hex digest in a config file. */
  public static IssuerCredential ofHex(String id, String sha256Hex) {
    byte[] digest;
    try {
      digest = HexFormat.of().parseHex(sha256Hex.trim().toLowerCase(java.util.Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "issuer " + id + ": secret_sha256 must be 64 hex characters (a SHA-256 digest)");
    }
    return new IssuerCredential(id, digest);
  }

  @Override
  public byte[] secretSha256() {
    return secretSha256.clone();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof IssuerCredential other && id.equals(other.id)
        && Arrays.equals(secretSha256, other.secretSha256);
  }

  @Override
  public int hashCode() {
    return id.hashCode();
  }

  @Override
  public String toString() {
    return "IssuerCredential[" + id + "]";
  }
}
