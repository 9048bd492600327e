package io.perishable.controlplane.audit;

import java.util.Arrays;
import java.util.HexFormat;

/**
 * A 32-byte BLAKE3 hash in the audit chain: a record's {@code hash} or {@code prev_hash}.
 * Compared by value; printed as 64 lowercase hex characters, the form it takes in exports.
 */
public record ChainHash(byte[] bytes) {
  /** Length of every chain hash, in bytes. */
  public static final int BYTES = 32;

  /** The {@code prev_hash} of the first record (seq 1): 32 zero bytes. */
  public static final ChainHash GENESIS = new ChainHash(new byte[BYTES]);

  private static final HexFormat HEX = HexFormat.of();

  public ChainHash {
    if (bytes.length != BYTES) {
      throw new IllegalArgumentException(
          "a chain hash has " + BYTES + " bytes, got " + bytes.length);
    }
    bytes = bytes.clone();
  }

  /** Parses 64 lowercase hex characters. */
  public static ChainHash fromHex(String hex) {
    if (hex.length() != 2 * BYTES || !isLowerHex(hex)) {
      throw new IllegalArgumentException("a chain hash is 64 lowercase hex characters");
    }
    return new ChainHash(HEX.parseHex(hex));
  }

  static boolean isLowerHex(CharSequence s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
        return false;
      }
    }
    return true;
  }

  /** A copy of the 32 bytes. */
  @Override
  public byte[] bytes() {
    return bytes.clone();
  }

  /** The bytes without a copy, for hashing; callers must not modify them. */
  byte[] unsafeBytes() {
    return bytes;
  }

  public String hex() {
    return HEX.formatHex(bytes);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ChainHash && Arrays.equals(bytes, ((ChainHash) o).bytes);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(bytes);
  }

  @Override
  public String toString() {
    return hex();
  }
}
