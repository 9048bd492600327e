package io.perishable.controlplane.audit;

import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;

/** Splits a stream into {@code \n}-terminated lines without copying each one. */
final class LineScanner {
  /** Receives one line; returns false to stop scanning. */
  interface Handler {
    /**
     * @param buf holds the line at {@code [off, off + len)}, without its newline; valid only
     *     during the call
     * @param terminated false for a final line without a newline (a torn write)
     * @param lineNo 1-based line number
     * @param offset byte offset of the line's first byte in the stream
     */
    boolean line(byte[] buf, int off, int len, boolean terminated, long lineNo, long offset)
        throws IOException;
  }

  private LineScanner() {}

  static void scan(InputStream in, Handler handler) throws IOException {
    byte[] buf = new byte[1 << 20];
    int start = 0;
    int scanFrom = 0;
    int end = 0;
    long base = 0;
    long lineNo = 0;
    while (true) {
      int nl = -1;
      for (int i = scanFrom; i < end; i++) {
        if (buf[i] == '\n') {
          nl = i;
          break;
        }
      }
      if (nl >= 0) {
        if (!handler.line(buf, start, nl - start, true, ++lineNo, base + start)) {
          return;
        }
        start = nl + 1;
        scanFrom = start;
        continue;
      }
      scanFrom = end;
      if (start > 0) {
        System.arraycopy(buf, start, buf, 0, end - start);
        base += start;
        end -= start;
        scanFrom -= start;
        start = 0;
      }
      if (end == buf.length) {
        buf = Arrays.copyOf(buf, buf.length * 2);
      }
      int n = in.read(buf, end, buf.length - end);
      if (n < 0) {
        if (end > start) {
          handler.line(buf, start, end - start, false, ++lineNo, base + start);
        }
        return;
      }
      end += n;
    }
  }
}
