package io.perishable.it;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * HTTP/1.1 over a plain socket, for requests {@code java.net.http} refuses to send (repeated
 * credential headers, hop-by-hop headers, odd paths, chunked bodies by hand). Sends
 * {@code connection: close} and reads until the server closes.
 */
final class RawHttp {
  /** A response: status, headers (lower-case names, in order), body. */
  record Response(int status, List<String[]> headers, String body) {
    String header(String name) {
      for (String[] h : headers) {
        if (h[0].equals(name)) {
          return h[1];
        }
      }
      return null;
    }
  }

  private RawHttp() {}

  /** Sends {@code head} (request line and headers, no trailing blank line) and {@code body}. */
  static Response send(int port, String head, byte[] body) throws IOException {
    try (Socket socket = new Socket("127.0.0.1", port)) {
      socket.setSoTimeout(30_000);
      OutputStream out = socket.getOutputStream();
      out.write((head + "\r\nconnection: close\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
      out.write(body);
      out.flush();
      return read(socket.getInputStream());
    }
  }

  static Response send(int port, String head, String body) throws IOException {
    return send(port, head, body.getBytes(StandardCharsets.UTF_8));
  }

  private static Response read(InputStream in) throws IOException {
    byte[] all = in.readAllBytes();
    String text = new String(all, StandardCharsets.ISO_8859_1);
    int split = text.indexOf("\r\n\r\n");
    String[] lines = text.substring(0, split).split("\r\n");
    int status = Integer.parseInt(lines[0].split(" ")[1]);
    List<String[]> headers = new ArrayList<>();
    boolean chunked = false;
    for (int i = 1; i < lines.length; i++) {
      int colon = lines[i].indexOf(':');
      String name = lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT);
      String value = lines[i].substring(colon + 1).trim();
      headers.add(new String[] {name, value});
      chunked |= name.equals("transfer-encoding") && value.contains("chunked");
    }
    byte[] raw = java.util.Arrays.copyOfRange(all, split + 4, all.length);
    byte[] body = chunked ? dechunk(raw) : raw;
    return new Response(status, headers, new String(body, StandardCharsets.UTF_8));
  }

  private static byte[] dechunk(byte[] raw) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int at = 0;
    while (at < raw.length) {
      int eol = at;
      while (eol + 1 < raw.length && !(raw[eol] == '\r' && raw[eol + 1] == '\n')) {
        eol++;
      }
      String sizeLine = new String(raw, at, eol - at, StandardCharsets.ISO_8859_1).split(";")[0];
      int size = Integer.parseInt(sizeLine.trim(), 16);
      if (size == 0) {
        break;
      }
      out.write(raw, eol + 2, size);
      at = eol + 2 + size + 2;
    }
    return out.toByteArray();
  }
}
