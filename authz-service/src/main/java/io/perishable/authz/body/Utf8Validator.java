package io.perishable.authz.body;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * Strict UTF-8 well-formedness check (Unicode 15, table 3-7), with a NUL check folded in.
 *
 * <p>Rejects everything the JDK's UTF-8 decoder rejects in {@code REPORT} mode: stray continuation
 * bytes, overlong forms, encoded surrogates (U+D800..U+DFFF), code points beyond U+10FFFF, bytes
 * C0, C1, F5..FF, and sequences cut short by the end of the input. Runs eight ASCII bytes per step,
 * so an ASCII-heavy multi-megabyte body costs well under a millisecond.
 */
final class Utf8Validator {

  private static final VarHandle LONGS =
      MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
  private static final long HIGH_BITS = 0x8080808080808080L;
  private static final long LOW_BITS = 0x0101010101010101L;

  private Utf8Validator() {}

  /**
   * Returns the index of the first byte that is a NUL byte or begins an ill-formed UTF-8 sequence,
   * or -1 if {@code bytes} is well-formed UTF-8 without NUL bytes.
   */
  static int firstProblem(byte[] bytes) {
    int n = bytes.length;
    int i = 0;
    while (i < n) {
      if (i <= n - 8) {
        long word = (long) LONGS.get(bytes, i);
        // High bit set in any byte, or any byte zero (classic has-zero-byte test): slow path.
        if (((word | ((word - LOW_BITS) & ~word)) & HIGH_BITS) == 0) {
          i += 8;
          continue;
        }
      }
      int lead = bytes[i] & 0xFF;
      if (lead < 0x80) {
        if (lead == 0) {
          return i;
        }
        i++;
        continue;
      }
      int length;
      int secondMin = 0x80;
      int secondMax = 0xBF;
      if (lead >= 0xC2 && lead <= 0xDF) {
        length = 2;
      } else if (lead >= 0xE0 && lead <= 0xEF) {
        length = 3;
        if (lead == 0xE0) {
          secondMin = 0xA0; // overlong below U+0800
        } else if (lead == 0xED) {
          secondMax = 0x9F; // surrogates U+D800..U+DFFF
        }
      } else if (lead >= 0xF0 && lead <= 0xF4) {
        length = 4;
        if (lead == 0xF0) {
          secondMin = 0x90; // overlong below U+10000
        } else if (lead == 0xF4) {
          secondMax = 0x8F; // beyond U+10FFFF
        }
      } else {
        return i; // continuation byte without lead, C0/C1 (overlong ASCII), or F5..FF
      }
      if (length > n - i) {
        return i;
      }
      int second = bytes[i + 1] & 0xFF;
      if (second < secondMin || second > secondMax) {
        return i;
      }
      for (int k = 2; k < length; k++) {
        int next = bytes[i + k] & 0xFF;
        if (next < 0x80 || next > 0xBF) {
          return i;
        }
      }
      i += length;
    }
    return -1;
  }
}
