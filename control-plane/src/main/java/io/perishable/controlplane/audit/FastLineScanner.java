package io.perishable.controlplane.audit;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * The verifier's fast path: certifies, without allocating, that an export line is in canonical
 * form, and finds its seq and hashes. It accepts only lines that {@link CanonicalJson#parseLine}
 * would also accept (a test holds it to that); everything else — including every checkpoint
 * record, and anything unusual — it leaves to the full parser, which also explains what is
 * wrong. Not thread-safe: results are in the fields after {@link #scan} returns true.
 */
final class FastLineScanner {
  private static final byte[][] TYPES = new byte[AuditEventType.values().length][];
  private static final byte[][] KEYS;
  private static final byte[] PREFIX = ascii("{\"seq\":");
  private static final byte[] TIME = ascii(",\"time_ms\":");
  private static final byte[] TYPE = ascii(",\"type\":\"");
  private static final byte[] PREV = ascii(",\"prev_hash\":\"");
  private static final byte[] HASH = ascii("\",\"hash\":\"");
  private static final byte[] COMPLETION_HASH = ascii(AuditRecord.COMPLETION_HASH_ATTRIBUTE);

  /** Field kinds, by canonical position, for the optional fields the fast path handles. */
  private static final int STRING = 0;
  private static final int INT = 1;
  private static final int STATUS = 2;
  private static final int HEX = 3;
  private static final int ATTRIBUTES = 4;
  private static final int NOT_FAST = 5;

  /** Value of a lowercase hex digit, or -1. */
  static final byte[] HEX_VALUE = new byte[256];

  static {
    java.util.Arrays.fill(HEX_VALUE, (byte) -1);
    for (int i = 0; i < 16; i++) {
      HEX_VALUE["0123456789abcdef".charAt(i)] = (byte) i;
    }
  }

  private static final String[] KEY_NAMES = {"token_id", "agent_id", "parent_token_id",
      "endpoint", "method", "model", "prompt_hash", "reason_code", "status", "latency_us",
      "request_id", "replica_id", "selector", "reason", "key_id", "checkpoint_seq",
      "checkpoint_hash", "signature", "attributes"};
  private static final int[] KINDS = {STRING, STRING, STRING, STRING, STRING, STRING, HEX,
      STRING, STATUS, INT, STRING, STRING, STRING, STRING, STRING, NOT_FAST, NOT_FAST, NOT_FAST,
      ATTRIBUTES};

  static {
    for (AuditEventType t : AuditEventType.values()) {
      TYPES[t.ordinal()] = t == AuditEventType.CHECKPOINT ? null : ascii(t.wireName());
    }
    KEYS = new byte[KEY_NAMES.length][];
    for (int i = 0; i < KEY_NAMES.length; i++) {
      KEYS[i] = ascii(",\"" + KEY_NAMES[i] + "\":");
    }
  }

  long seq;
  long timeMs;
  /** Offset of the {@code ,"prev_hash"} that ends the canonical part (the brace is implied). */
  int canonicalEnd;
  /** prev_hash and hash, decoded from their 64 hex characters. */
  final byte[] prev = new byte[ChainHash.BYTES];
  final byte[] hash = new byte[ChainHash.BYTES];

  private byte[] b;
  private int p;
  private int end;

  private static byte[] ascii(String s) {
    return s.getBytes(StandardCharsets.US_ASCII);
  }

  /** True if the line is certainly canonical (and not a checkpoint); fields then set. */
  boolean scan(byte[] buf, int off, int len) {
    b = buf;
    p = off;
    end = off + len;
    if (!literal(PREFIX)) {
      return false;
    }
    seq = integer();
    if (seq < 1 || !literal(TIME)) {
      return false;
    }
    timeMs = integer();
    if (timeMs == Long.MIN_VALUE || !literal(TYPE)) {
      return false;
    }
    boolean typed = false;
    for (byte[] t : TYPES) {
      if (t != null && end - p > t.length && b[p + t.length] == '"' && startsWith(t)) {
        p += t.length + 1;
        typed = true;
        break;
      }
    }
    if (!typed) {
      return false;
    }
    int next = 0;
    while (true) {
      if (end - p >= PREV.length && startsWith(PREV)) {
        canonicalEnd = p;
        p += PREV.length;
        if (!hex64(prev) || !literal(HASH)) {
          return false;
        }
        return hex64(hash) && end - p == 2 && b[p] == '"' && b[p + 1] == '}';
      }
      int field = -1;
      for (int i = next; i < KEYS.length; i++) {
        if (end - p > KEYS[i].length && startsWith(KEYS[i])) {
          field = i;
          break;
        }
      }
      if (field < 0) {
        return false;
      }
      p += KEYS[field].length;
      next = field + 1;
      switch (KINDS[field]) {
        case STRING:
          if (!value(false)) {
            return false;
          }
          break;
        case HEX:
          if (!value(true)) {
            return false;
          }
          break;
        case INT:
          if (integer() == Long.MIN_VALUE) {
            return false;
          }
          break;
        case STATUS:
          long status = integer();
          if (status < Integer.MIN_VALUE || status > Integer.MAX_VALUE) {
            return false;
          }
          break;
        case ATTRIBUTES:
          if (!attributes()) {
            return false;
          }
          break;
        default:
          return false;
      }
    }
  }

  private boolean startsWith(byte[] lit) {
    for (int i = 0; i < lit.length; i++) {
      if (b[p + i] != lit[i]) {
        return false;
      }
    }
    return true;
  }

  private boolean literal(byte[] lit) {
    if (end - p < lit.length || !startsWith(lit)) {
      return false;
    }
    p += lit.length;
    return true;
  }

  /** A canonical integer; Long.MIN_VALUE (never written by us as-is here) when it is not. */
  private long integer() {
    boolean negative = p < end && b[p] == '-';
    if (negative) {
      p++;
    }
    int start = p;
    long v = 0;
    while (p < end && b[p] >= '0' && b[p] <= '9' && p - start < 18) {
      v = v * 10 + (b[p++] - '0');
    }
    int digits = p - start;
    if (digits == 0 || (p < end && b[p] >= '0' && b[p] <= '9')
        || (b[start] == '0' && (digits > 1 || negative))) {
      return Long.MIN_VALUE;
    }
    return negative ? -v : v;
  }

  /** 64 lowercase hex characters, decoded into {@code out} as they are checked. */
  private boolean hex64(byte[] out) {
    if (end - p < 2 * ChainHash.BYTES) {
      return false;
    }
    int bad = 0;
    for (int i = 0; i < ChainHash.BYTES; i++) {
      int hi = HEX_VALUE[b[p + 2 * i] & 0xff];
      int lo = HEX_VALUE[b[p + 2 * i + 1] & 0xff];
      bad |= hi | lo;
      out[i] = (byte) ((hi << 4) | lo);
    }
    p += 2 * ChainHash.BYTES;
    return bad >= 0;
  }

  /** A non-empty canonical string not starting with prs_ (lowercase hex ≤ 128 if hexOnly). */
  private boolean value(boolean hexOnly) {
    int start = p + 1;
    if (!string()) {
      return false;
    }
    int n = p - 1 - start;
    if (n == 0) {
      return false;
    }
    if (n >= 4 && b[start] == 'p' && b[start + 1] == 'r' && b[start + 2] == 's'
        && b[start + 3] == '_') {
      return false;
    }
    if (hexOnly) {
      if (n > 128) {
        return false;
      }
      int bad = 0;
      for (int i = start; i < start + n; i++) {
        bad |= HEX_VALUE[b[i] & 0xff];
      }
      return bad >= 0;
    }
    return true;
  }

  /** {"k":"v",...}: non-empty, keys strictly increasing by UTF-8 bytes (= code points). */
  private boolean attributes() {
    if (p >= end || b[p] != '{') {
      return false;
    }
    p++;
    int prevKey = -1;
    int prevKeyLen = 0;
    while (true) {
      int keyStart = p + 1;
      if (!value(false)) {
        return false;
      }
      int keyLen = p - 1 - keyStart;
      for (int i = keyStart; i < keyStart + keyLen; i++) {
        if (b[i] == '\\') {
          return false; // escaped names: compare decoded, leave to the full parser
        }
      }
      if (prevKey >= 0 && java.util.Arrays.compareUnsigned(b, prevKey, prevKey + prevKeyLen,
          b, keyStart, keyStart + keyLen) >= 0) {
        return false;
      }
      prevKey = keyStart;
      prevKeyLen = keyLen;
      if (p >= end || b[p] != ':') {
        return false;
      }
      p++;
      int valueStart = p + 1;
      if (!value(false)) {
        return false;
      }
      if (isCompletionHash(keyStart, keyLen) && !isSha256Hex(valueStart, p - 1 - valueStart)) {
        return false; // the full parser refuses it, naming the attribute
      }
      if (p >= end) {
        return false;
      }
      if (b[p] == '}') {
        p++;
        return true;
      }
      if (b[p] != ',') {
        return false;
      }
      p++;
    }
  }

  private boolean isCompletionHash(int at, int len) {
    return len == COMPLETION_HASH.length
        && java.util.Arrays.equals(b, at, at + len, COMPLETION_HASH, 0, len);
  }

  /** Exactly 64 lowercase hex characters at {@code b[at, at + len)}. */
  private boolean isSha256Hex(int at, int len) {
    if (len != 64) {
      return false;
    }
    int bad = 0;
    for (int i = at; i < at + len; i++) {
      bad |= HEX_VALUE[b[i] & 0xff];
    }
    return bad >= 0;
  }

  private static final VarHandle LONGS =
      MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
  private static final long ONES = 0x0101010101010101L;
  private static final long HIGHS = 0x8080808080808080L;
  private static final long QUOTES = 0x2222222222222222L;
  private static final long BACKSLASHES = 0x5c5c5c5c5c5c5c5cL;
  private static final long SPACES = 0x2020202020202020L;

  /**
   * The index of the first byte in {@code b[from, to)} that is not printable ASCII other than
   * {@code '"'} and {@code '\\'} (so a quote, a backslash, a control byte or a byte of a
   * multi-byte character), or {@code to}. Eight bytes at a time: for each test, the lowest
   * flagged byte of a word is exact (a borrow flags only bytes above a true hit).
   */
  static int skipPlain(byte[] b, int from, int to) {
    int i = from;
    for (; i + 8 <= to; i += 8) {
      long w = (long) LONGS.get(b, i);
      long q = w ^ QUOTES;
      long s = w ^ BACKSLASHES;
      long special = (((q - ONES) & ~q) | ((s - ONES) & ~s) | ((w - SPACES) & ~w) | w) & HIGHS;
      if (special != 0) {
        return i + (Long.numberOfTrailingZeros(special) >>> 3);
      }
    }
    for (; i < to; i++) {
      int c = b[i]; // bytes >= 0x80 are negative here
      if (c < 0x20 || c == '"' || c == '\\') {
        return i;
      }
    }
    return to;
  }

  /** A string in canonical form: the escapes of docs/audit-log.md, shortest-form UTF-8. */
  private boolean string() {
    if (p >= end || b[p] != '"') {
      return false;
    }
    p++;
    while (p < end) {
      p = skipPlain(b, p, end); // printable ASCII but for '"' and '\\'
      if (p == end) {
        break;
      }
      int c = b[p] & 0xff;
      if (c == '"') {
        p++;
        return true;
      }
      if (c == '\\') {
        if (end - p < 2) {
          return false;
        }
        int e = b[p + 1];
        if (e == '"' || e == '\\' || e == 'b' || e == 'f' || e == 'n' || e == 'r' || e == 't') {
          p += 2;
        } else if (e == 'u') {
          if (end - p < 6 || b[p + 2] != '0' || b[p + 3] != '0') {
            return false;
          }
          int hi = b[p + 4];
          int lo = b[p + 5];
          int v = (hi == '0' ? 0 : hi == '1' ? 16 : -1000)
              + (lo >= '0' && lo <= '9' ? lo - '0' : lo >= 'a' && lo <= 'f' ? lo - 'a' + 10
              : -1000);
          if (v < 0 || v == 8 || v == 9 || v == 10 || v == 12 || v == 13) {
            return false;
          }
          p += 6;
        } else {
          return false;
        }
      } else if (c < 0x20) {
        return false;
      } else if (!utf8(c)) {
        return false;
      }
    }
    return false;
  }

  /** A shortest-form UTF-8 sequence for a scalar value (no surrogates), lead byte {@code c}. */
  private boolean utf8(int c) {
    int need;
    int lo = 0x80;
    int hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) {
      need = 1;
    } else if (c >= 0xe0 && c <= 0xef) {
      need = 2;
      lo = c == 0xe0 ? 0xa0 : 0x80;
      hi = c == 0xed ? 0x9f : 0xbf;
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3;
      lo = c == 0xf0 ? 0x90 : 0x80;
      hi = c == 0xf4 ? 0x8f : 0xbf;
    } else {
      return false;
    }
    if (end - p <= need) {
      return false;
    }
    int second = b[p + 1] & 0xff;
    if (second < lo || second > hi) {
      return false;
    }
    for (int i = 2; i <= need; i++) {
      if ((b[p + i] & 0xc0) != 0x80) {
        return false;
      }
    }
    p += need + 1;
    return true;
  }
}
