package io.perishable.controlplane.audit;

/**
 * Whether bytes are one well-formed JSON value (RFC 8259), ignoring what it means. Used only
 * to tell "not JSON" from "not canonical" when a line fails the strict parser.
 */
final class JsonSyntax {
  private final byte[] b;
  private final int end;
  private int p;

  private JsonSyntax(byte[] b, int p, int end) {
    this.b = b;
    this.p = p;
    this.end = end;
  }

  static boolean isValid(byte[] b, int off, int end) {
    JsonSyntax s = new JsonSyntax(b, off, end);
    try {
      s.ws();
      s.value(0);
      s.ws();
      return s.p == end;
    } catch (IllegalStateException e) {
      return false;
    }
  }

  private void ws() {
    while (p < end && (b[p] == ' ' || b[p] == '\t' || b[p] == '\n' || b[p] == '\r')) {
      p++;
    }
  }

  private int next() {
    if (p >= end) {
      throw new IllegalStateException();
    }
    return b[p++];
  }

  private void value(int depth) {
    if (depth > 64) {
      throw new IllegalStateException();
    }
    int c = next();
    if (c == '{') {
      ws();
      if (p < end && b[p] == '}') {
        p++;
        return;
      }
      while (true) {
        ws();
        if (next() != '"') {
          throw new IllegalStateException();
        }
        string();
        ws();
        if (next() != ':') {
          throw new IllegalStateException();
        }
        ws();
        value(depth + 1);
        ws();
        c = next();
        if (c == '}') {
          return;
        }
        if (c != ',') {
          throw new IllegalStateException();
        }
      }
    } else if (c == '[') {
      ws();
      if (p < end && b[p] == ']') {
        p++;
        return;
      }
      while (true) {
        ws();
        value(depth + 1);
        ws();
        c = next();
        if (c == ']') {
          return;
        }
        if (c != ',') {
          throw new IllegalStateException();
        }
      }
    } else if (c == '"') {
      string();
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      p--;
      number();
    } else {
      p--;
      if (!(literal("true") || literal("false") || literal("null"))) {
        throw new IllegalStateException();
      }
    }
  }

  private boolean literal(String word) {
    if (end - p < word.length()) {
      return false;
    }
    for (int i = 0; i < word.length(); i++) {
      if (b[p + i] != word.charAt(i)) {
        return false;
      }
    }
    p += word.length();
    return true;
  }

  private void number() {
    if (b[p] == '-') {
      p++;
    }
    int c = next();
    if (c == '0') {
      // no leading zeros
    } else if (c >= '1' && c <= '9') {
      digits();
    } else {
      throw new IllegalStateException();
    }
    if (p < end && b[p] == '.') {
      p++;
      requireDigit();
      digits();
    }
    if (p < end && (b[p] == 'e' || b[p] == 'E')) {
      p++;
      if (p < end && (b[p] == '+' || b[p] == '-')) {
        p++;
      }
      requireDigit();
      digits();
    }
  }

  private void requireDigit() {
    if (p >= end || b[p] < '0' || b[p] > '9') {
      throw new IllegalStateException();
    }
  }

  private void digits() {
    while (p < end && b[p] >= '0' && b[p] <= '9') {
      p++;
    }
  }

  /** After the opening quote: escapes and UTF-8 well-formedness. */
  private void string() {
    while (true) {
      int c = next() & 0xff;
      if (c == '"') {
        return;
      }
      if (c < 0x20) {
        throw new IllegalStateException();
      }
      if (c == '\\') {
        int e = next();
        if (e == 'u') {
          for (int i = 0; i < 4; i++) {
            int h = next();
            if (Character.digit(h, 16) < 0) {
              throw new IllegalStateException();
            }
          }
        } else if ("\"\\/bfnrt".indexOf(e) < 0) {
          throw new IllegalStateException();
        }
      } else if (c >= 0x80) {
        int extra = c >= 0xf0 && c <= 0xf4 ? 3 : c >= 0xe0 ? 2 : c >= 0xc2 && c < 0xe0 ? 1 : -1;
        if (extra < 0 || c > 0xf4) {
          throw new IllegalStateException();
        }
        for (int i = 0; i < extra; i++) {
          if ((next() & 0xc0) != 0x80) {
            throw new IllegalStateException();
          }
        }
      }
    }
  }
}
