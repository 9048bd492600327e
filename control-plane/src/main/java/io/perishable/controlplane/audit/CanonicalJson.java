package io.perishable.controlplane.audit;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * The canonical JSON of a record and its JSONL line, both ways: {@link #writeCanonical} encodes,
 * {@link #parseLine} decodes strictly (a line is accepted only if re-encoding its record gives
 * back exactly its bytes). The rules are those of docs/audit-log.md, "Canonical bytes"; they
 * coincide with Python's {@code json.dumps(obj, ensure_ascii=False, separators=(",", ":"))}.
 */
final class CanonicalJson {
  /** Order of attribute names: by Unicode code point (= UTF-8 byte order, = Python's sort). */
  static final Comparator<String> CODE_POINT_ORDER = (a, b) -> {
    int i = 0;
    int j = 0;
    while (i < a.length() && j < b.length()) {
      int ca = a.codePointAt(i);
      int cb = b.codePointAt(j);
      if (ca != cb) {
        return Integer.compare(ca, cb);
      }
      i += Character.charCount(ca);
      j += Character.charCount(cb);
    }
    return Boolean.compare(i < a.length(), j < b.length());
  };

  private enum Kind { STRING, INT, HASH, ATTRIBUTES }

  /** Optional fields, in canonical order, after the mandatory seq, time_ms and type. */
  private enum Field {
    TOKEN_ID("token_id", Kind.STRING),
    AGENT_ID("agent_id", Kind.STRING),
    PARENT_TOKEN_ID("parent_token_id", Kind.STRING),
    ENDPOINT("endpoint", Kind.STRING),
    METHOD("method", Kind.STRING),
    MODEL("model", Kind.STRING),
    PROMPT_HASH("prompt_hash", Kind.STRING),
    REASON_CODE("reason_code", Kind.STRING),
    STATUS("status", Kind.INT),
    LATENCY_US("latency_us", Kind.INT),
    REQUEST_ID("request_id", Kind.STRING),
    REPLICA_ID("replica_id", Kind.STRING),
    SELECTOR("selector", Kind.STRING),
    REASON("reason", Kind.STRING),
    KEY_ID("key_id", Kind.STRING),
    CHECKPOINT_SEQ("checkpoint_seq", Kind.INT),
    CHECKPOINT_HASH("checkpoint_hash", Kind.HASH),
    SIGNATURE("signature", Kind.STRING),
    ATTRIBUTES("attributes", Kind.ATTRIBUTES);

    final String key;
    final Kind kind;

    Field(String key, Kind kind) {
      this.key = key;
      this.kind = kind;
    }
  }

  private static final Field[] FIELDS = Field.values();
  private static final Map<String, Field> BY_KEY = new HashMap<>();

  static {
    for (Field f : FIELDS) {
      BY_KEY.put(f.key, f);
    }
  }

  private static final byte[] HEX = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);

  private CanonicalJson() {}

  static byte[] canonicalBytes(AuditRecord r) {
    Sink s = new Sink(256);
    writeCanonical(s, r);
    return s.toArray();
  }

  static byte[] exportLine(AuditRecord r) {
    Sink s = new Sink(384);
    writeLine(s, r);
    return s.toArray();
  }

  /** Appends the export line of {@code r} (no newline): canonical JSON, then the hashes. */
  static void writeLine(Sink s, AuditRecord r) {
    writeCanonical(s, r);
    s.length--; // the closing brace; the hash fields come before it
    writeHashes(s, r.prevHash(), r.hash());
  }

  /** Appends {@code ,"prev_hash":"…","hash":"…"}} (the tail of an export line). */
  static void writeHashes(Sink s, ChainHash prev, ChainHash hash) {
    s.ascii(",\"prev_hash\":\"");
    s.hex(prev.unsafeBytes());
    s.ascii("\",\"hash\":\"");
    s.hex(hash.unsafeBytes());
    s.ascii("\"}");
  }

  /** Appends the canonical JSON object of {@code r}. */
  static void writeCanonical(Sink s, AuditRecord r) {
    s.ascii("{\"seq\":");
    s.ascii(Long.toString(r.seq()));
    s.ascii(",\"time_ms\":");
    s.ascii(Long.toString(r.timeMs()));
    s.ascii(",\"type\":\"");
    s.ascii(r.type().wireName());
    s.add('"');
    string(s, Field.TOKEN_ID, r.tokenId());
    string(s, Field.AGENT_ID, r.agentId());
    string(s, Field.PARENT_TOKEN_ID, r.parentTokenId());
    string(s, Field.ENDPOINT, r.endpoint());
    string(s, Field.METHOD, r.method());
    string(s, Field.MODEL, r.model());
    string(s, Field.PROMPT_HASH, r.promptHash());
    string(s, Field.REASON_CODE, r.reasonCode());
    integer(s, Field.STATUS, r.status() == null ? null : r.status().longValue());
    integer(s, Field.LATENCY_US, r.latencyUs());
    string(s, Field.REQUEST_ID, r.requestId());
    string(s, Field.REPLICA_ID, r.replicaId());
    string(s, Field.SELECTOR, r.selector());
    string(s, Field.REASON, r.reason());
    string(s, Field.KEY_ID, r.keyId());
    integer(s, Field.CHECKPOINT_SEQ, r.checkpointSeq());
    string(s, Field.CHECKPOINT_HASH,
        r.checkpointHash() == null ? null : r.checkpointHash().hex());
    string(s, Field.SIGNATURE, r.signature());
    if (!r.attributes().isEmpty()) {
      key(s, Field.ATTRIBUTES);
      char sep = '{';
      for (Map.Entry<String, String> e : r.attributes().entrySet()) {
        s.add(sep);
        sep = ',';
        quoted(s, e.getKey());
        s.add(':');
        quoted(s, e.getValue());
      }
      s.add('}');
    }
    s.add('}');
  }

  private static void key(Sink s, Field f) {
    s.add(',');
    s.add('"');
    s.ascii(f.key);
    s.add('"');
    s.add(':');
  }

  private static void string(Sink s, Field f, String value) {
    if (value != null) {
      key(s, f);
      quoted(s, value);
    }
  }

  private static void integer(Sink s, Field f, Long value) {
    if (value != null) {
      key(s, f);
      s.ascii(Long.toString(value));
    }
  }

  /** A JSON string: {@code "} and {@code \} escaped, control characters escaped, rest UTF-8. */
  static void quoted(Sink s, String v) {
    s.add('"');
    for (int i = 0; i < v.length(); i++) {
      char c = v.charAt(i);
      if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
        s.add(c);
      } else if (c == '"' || c == '\\') {
        s.add('\\');
        s.add(c);
      } else if (c < 0x20) {
        switch (c) {
          case '\b': s.ascii("\\b"); break;
          case '\f': s.ascii("\\f"); break;
          case '\n': s.ascii("\\n"); break;
          case '\r': s.ascii("\\r"); break;
          case '\t': s.ascii("\\t"); break;
          default:
            s.ascii("\\u00");
            s.add(HEX[c >> 4]);
            s.add(HEX[c & 0xf]);
        }
      } else if (c < 0x800) {
        s.add(0xc0 | (c >> 6));
        s.add(0x80 | (c & 0x3f));
      } else if (Character.isHighSurrogate(c)) {
        // AuditRecord refuses lone surrogates, so a low surrogate follows.
        int cp = Character.toCodePoint(c, v.charAt(++i));
        s.add(0xf0 | (cp >> 18));
        s.add(0x80 | ((cp >> 12) & 0x3f));
        s.add(0x80 | ((cp >> 6) & 0x3f));
        s.add(0x80 | (cp & 0x3f));
      } else {
        s.add(0xe0 | (c >> 12));
        s.add(0x80 | ((c >> 6) & 0x3f));
        s.add(0x80 | (c & 0x3f));
      }
    }
    s.add('"');
  }

  /** Why a line is not a valid record. */
  static final class Malformed extends Exception {
    private static final long serialVersionUID = 1L;

    Malformed(String message) {
      super(message, null, false, false);
    }
  }

  /**
   * A record parsed from a line, with where its hashed part ends: the canonical bytes are
   * {@code line[0, canonicalEnd)} followed by {@code }}.
   */
  record Parsed(AuditRecord record, int canonicalEnd) {}

  /**
   * Parses an export line (no newline) strictly and checks it is canonical; does not check the
   * hash. Throws {@link Malformed} with "not JSON" or "not canonical: …".
   */
  static Parsed parseLine(byte[] buf, int off, int len, Sink scratch) throws Malformed {
    Parsed parsed;
    try {
      parsed = new Parser(buf, off, off + len).line();
    } catch (Malformed e) {
      if (!JsonSyntax.isValid(buf, off, off + len)) {
        throw new Malformed("not JSON");
      }
      throw e;
    }
    scratch.length = 0;
    writeLine(scratch, parsed.record());
    if (scratch.length != len || !Arrays.equals(scratch.bytes, 0, len, buf, off, off + len)) {
      if (!JsonSyntax.isValid(buf, off, off + len)) {
        throw new Malformed("not JSON");
      }
      throw new Malformed("not canonical: the line differs from its record's canonical form");
    }
    return parsed;
  }

  /** The seq a line claims, read from its {@code {"seq":N,} prefix; -1 if there is none. */
  static long peekSeq(byte[] buf, int off, int len) {
    byte[] prefix = {'{', '"', 's', 'e', 'q', '"', ':'};
    if (len < prefix.length + 1 || !Arrays.equals(buf, off, off + prefix.length, prefix, 0,
        prefix.length)) {
      return -1;
    }
    long v = 0;
    int i = off + prefix.length;
    int end = off + len;
    int digits = 0;
    while (i < end && buf[i] >= '0' && buf[i] <= '9' && digits < 18) {
      v = v * 10 + (buf[i++] - '0');
      digits++;
    }
    return digits == 0 ? -1 : v;
  }

  /** Recursive-descent reader of exactly the grammar {@link #writeLine} produces. */
  private static final class Parser {
    private final byte[] b;
    private int p;
    private final int end;

    Parser(byte[] b, int p, int end) {
      this.b = b;
      this.p = p;
      this.end = end;
    }

    Parsed line() throws Malformed {
      expect('{');
      expectKey("seq");
      long seq = integer();
      expect(',');
      expectKey("time_ms");
      long timeMs = integer();
      expect(',');
      expectKey("type");
      String typeName = string();
      AuditEventType type = AuditEventType.fromWireName(typeName);
      if (type == null) {
        throw new Malformed("not canonical: unknown type \"" + typeName + "\"");
      }
      AuditRecord.Builder rb = AuditRecord.builder(type);
      String[] text = new String[FIELDS.length];
      Long[] ints = new Long[FIELDS.length];
      ChainHash checkpointHash = null;
      int last = -1;
      while (true) {
        int canonicalEnd = p;
        expect(',');
        String key = string();
        expect(':');
        if (key.equals("prev_hash")) {
          ChainHash prev = hash();
          expect(',');
          expectKey("hash");
          ChainHash hash = hash();
          expect('}');
          if (p != end) {
            throw new Malformed("not JSON");
          }
          rb.checkpointSeq(ints[Field.CHECKPOINT_SEQ.ordinal()])
              .checkpointHash(checkpointHash)
              .signature(text[Field.SIGNATURE.ordinal()]);
          fill(rb, text, ints);
          try {
            return new Parsed(rb.build(seq, timeMs, prev, hash), canonicalEnd);
          } catch (IllegalArgumentException e) {
            throw new Malformed("not canonical: " + e.getMessage());
          }
        }
        Field f = BY_KEY.get(key);
        if (f == null) {
          throw new Malformed("not canonical: unknown field \"" + key + "\"");
        }
        if (f.ordinal() <= last) {
          throw new Malformed("not canonical: field \"" + key + "\" out of order or repeated");
        }
        last = f.ordinal();
        switch (f.kind) {
          case STRING:
            text[f.ordinal()] = string();
            break;
          case INT:
            ints[f.ordinal()] = integer();
            break;
          case HASH:
            checkpointHash = hash();
            break;
          default:
            attributes(rb);
        }
      }
    }

    private void fill(AuditRecord.Builder rb, String[] text, Long[] ints) throws Malformed {
      rb.tokenId(text[Field.TOKEN_ID.ordinal()])
          .agentId(text[Field.AGENT_ID.ordinal()])
          .parentTokenId(text[Field.PARENT_TOKEN_ID.ordinal()])
          .endpoint(text[Field.ENDPOINT.ordinal()])
          .method(text[Field.METHOD.ordinal()])
          .model(text[Field.MODEL.ordinal()])
          .promptHash(text[Field.PROMPT_HASH.ordinal()])
          .reasonCode(text[Field.REASON_CODE.ordinal()])
          .latencyUs(ints[Field.LATENCY_US.ordinal()])
          .requestId(text[Field.REQUEST_ID.ordinal()])
          .replicaId(text[Field.REPLICA_ID.ordinal()])
          .selector(text[Field.SELECTOR.ordinal()])
          .reason(text[Field.REASON.ordinal()])
          .keyId(text[Field.KEY_ID.ordinal()]);
      Long status = ints[Field.STATUS.ordinal()];
      if (status != null) {
        if (status < Integer.MIN_VALUE || status > Integer.MAX_VALUE) {
          throw new Malformed("not canonical: status out of range");
        }
        rb.status(status.intValue());
      }
    }

    private void attributes(AuditRecord.Builder rb) throws Malformed {
      expect('{');
      if (peek() == '}') {
        throw new Malformed("not canonical: empty attributes are omitted");
      }
      TreeMap<String, String> seen = new TreeMap<>();
      while (true) {
        String k = string();
        expect(':');
        String v = string();
        if (seen.put(k, v) != null) {
          throw new Malformed("not canonical: attribute \"" + k + "\" repeated");
        }
        rb.attribute(k, v);
        if (peek() == '}') {
          p++;
          return;
        }
        expect(',');
      }
    }

    private ChainHash hash() throws Malformed {
      String hex = string();
      try {
        return ChainHash.fromHex(hex);
      } catch (IllegalArgumentException e) {
        throw new Malformed("not canonical: a hash is 64 lowercase hex characters");
      }
    }

    private int peek() throws Malformed {
      if (p >= end) {
        throw new Malformed("not JSON");
      }
      return b[p];
    }

    private void expect(char c) throws Malformed {
      if (peek() != c) {
        throw new Malformed("not canonical: expected '" + c + "' at byte " + p);
      }
      p++;
    }

    private void expectKey(String key) throws Malformed {
      String k = string();
      if (!k.equals(key)) {
        throw new Malformed("not canonical: expected field \"" + key + "\", got \"" + k + "\"");
      }
      expect(':');
    }

    private long integer() throws Malformed {
      int start = p;
      if (p < end && b[p] == '-') {
        p++;
      }
      while (p < end && b[p] >= '0' && b[p] <= '9') {
        p++;
      }
      if (p == start || (p == start + 1 && b[start] == '-')) {
        throw new Malformed("not canonical: expected an integer at byte " + start);
      }
      try {
        return Long.parseLong(new String(b, start, p - start, StandardCharsets.US_ASCII));
      } catch (NumberFormatException e) {
        throw new Malformed("not canonical: integer out of range at byte " + start);
      }
    }

    private String string() throws Malformed {
      expect('"');
      int start = p;
      while (p < end) {
        byte c = b[p];
        if (c == '"') {
          String s = new String(b, start, p - start, StandardCharsets.ISO_8859_1);
          p++;
          return s;
        }
        if (c == '\\' || c < 0x20) { // also every byte >= 0x80 (negative)
          return slowString(start);
        }
        p++;
      }
      throw new Malformed("not JSON");
    }

    /** Strings with escapes or non-ASCII characters: decoded, then checked by re-encoding. */
    private String slowString(int start) throws Malformed {
      p = start;
      StringBuilder sb = new StringBuilder();
      int run = p;
      while (p < end) {
        byte c = b[p];
        if (c == '"') {
          sb.append(new String(b, run, p - run, StandardCharsets.UTF_8));
          p++;
          return sb.toString();
        }
        if (c >= 0 && c < 0x20) {
          throw new Malformed("not JSON");
        }
        if (c != '\\') {
          p++;
          continue;
        }
        sb.append(new String(b, run, p - run, StandardCharsets.UTF_8));
        if (p + 1 >= end) {
          throw new Malformed("not JSON");
        }
        byte e = b[p + 1];
        p += 2;
        switch (e) {
          case '"': sb.append('"'); break;
          case '\\': sb.append('\\'); break;
          case '/': sb.append('/'); break;
          case 'b': sb.append('\b'); break;
          case 'f': sb.append('\f'); break;
          case 'n': sb.append('\n'); break;
          case 'r': sb.append('\r'); break;
          case 't': sb.append('\t'); break;
          case 'u':
            if (p + 4 > end) {
              throw new Malformed("not JSON");
            }
            try {
              sb.append((char) Integer.parseInt(
                  new String(b, p, 4, StandardCharsets.US_ASCII), 16));
            } catch (NumberFormatException ex) {
              throw new Malformed("not JSON");
            }
            p += 4;
            break;
          default:
            throw new Malformed("not JSON");
        }
        run = p;
      }
      throw new Malformed("not JSON");
    }
  }

  /** A growable byte buffer; fields are package-visible so writers and hashers avoid copies. */
  static final class Sink {
    byte[] bytes;
    int length;

    Sink(int capacity) {
      bytes = new byte[capacity];
    }

    void ensure(int extra) {
      if (length + extra > bytes.length) {
        bytes = Arrays.copyOf(bytes, Math.max(bytes.length * 2, length + extra));
      }
    }

    void add(int b) {
      ensure(1);
      bytes[length++] = (byte) b;
    }

    void ascii(String s) {
      int n = s.length();
      ensure(n);
      for (int i = 0; i < n; i++) {
        bytes[length++] = (byte) s.charAt(i);
      }
    }

    void hex(byte[] raw) {
      ensure(raw.length * 2);
      for (byte x : raw) {
        bytes[length++] = HEX[(x >> 4) & 0xf];
        bytes[length++] = HEX[x & 0xf];
      }
    }

    void add(byte[] src, int off, int len) {
      ensure(len);
      System.arraycopy(src, off, bytes, length, len);
      length += len;
    }

    byte[] toArray() {
      return Arrays.copyOf(bytes, length);
    }
  }
}
