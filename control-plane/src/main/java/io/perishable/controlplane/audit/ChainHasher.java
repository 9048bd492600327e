package io.perishable.controlplane.audit;

import org.bouncycastle.crypto.digests.Blake3Digest;

/**
 * The chain rule, {@code hash = BLAKE3(prev_hash ‖ canonical bytes)}, with Bouncy Castle's
 * BLAKE3 (32-byte output). One instance per thread: the digest is reused between records.
 */
final class ChainHasher {
  private final Blake3Digest digest = new Blake3Digest();
  private final byte[] out = new byte[ChainHash.BYTES];

  /**
   * The hash of a record whose canonical bytes are {@code buf[off, off + len)} followed by
   * {@code closing} (or nothing when {@code closing} is negative). Exports store a record as
   * its canonical JSON minus the closing brace, then the two hash fields; passing the brace
   * separately lets the verifier hash a line in place.
   */
  ChainHash next(ChainHash prev, byte[] buf, int off, int len, int closing) {
    digest(prev.unsafeBytes(), buf, off, len, closing, out);
    return new ChainHash(out);
  }

  /** As {@link #next}, with raw 32-byte hashes and no allocation. */
  void digest(byte[] prev, byte[] buf, int off, int len, int closing, byte[] result) {
    digest.update(prev, 0, ChainHash.BYTES);
    digest.update(buf, off, len);
    if (closing >= 0) {
      digest.update((byte) closing);
    }
    digest.doFinal(result, 0);
  }
}
