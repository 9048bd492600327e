package io.perishable.fakellm;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A bare HTTP/1.1 client over one socket, for what {@code java.net.http} hides: chunk boundaries on
 * the wire and reuse of a single connection.
 */
final class RawHttpConnection implements AutoCloseable {

  /** One response as framed on the wire; {@code chunks} is empty unless it was chunked. */
  record RawResponse(
      String statusLine, Map<String, String> headers, List<String> chunks, String body) {}

  private final Socket socket;
  private final InputStream in;
  private final OutputStream out;

  private RawHttpConnection(Socket socket) throws IOException {
    this.socket = socket;
    this.in = socket.getInputStream();
    this.out = socket.getOutputStream();
  }

  static RawHttpConnection open(int port) {
    try {
      Socket socket = new Socket("127.0.0.1", port);
      // A guard against a hung test, not a wait: reads return as soon as bytes arrive.
      socket.setSoTimeout(10_000);
      return new RawHttpConnection(socket);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Sends a POST with a content-length body and the given extra header lines. */
  RawResponse post(String path, String body, String... headerLines) {
    byte[] bytes = body.getBytes(UTF_8);
    StringBuilder head = new StringBuilder("POST " + path + " HTTP/1.1\r\nhost: 127.0.0.1\r\n");
    for (String line : headerLines) {
      head.append(line).append("\r\n");
    }
    head.append("content-type: application/json\r\n");
    head.append("content-length: ").append(bytes.length).append("\r\n\r\n");
    try {
      out.write(head.toString().getBytes(US_ASCII));
      out.write(bytes);
      out.flush();
      return readResponse();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private RawResponse readResponse() throws IOException {
    String statusLine = readLine();
    Map<String, String> headers = new LinkedHashMap<>();
    for (String line = readLine(); !line.isEmpty(); line = readLine()) {
      int colon = line.indexOf(':');
      headers.put(
          line.substring(0, colon).trim().toLowerCase(Locale.ROOT),
          line.substring(colon + 1).trim());
    }
    List<String> chunks = new ArrayList<>();
    if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
      for (int size = chunkSize(readLine()); size > 0; size = chunkSize(readLine())) {
        chunks.add(new String(readExactly(size), UTF_8));
        readLine(); // the CRLF that closes each chunk
      }
      while (!readLine().isEmpty()) {
        // trailers: none expected, skipped if present
      }
      return new RawResponse(statusLine, headers, chunks, String.join("", chunks));
    }
    int length = Integer.parseInt(headers.getOrDefault("content-length", "0"));
    return new RawResponse(statusLine, headers, chunks, new String(readExactly(length), UTF_8));
  }

  private static int chunkSize(String line) {
    int extension = line.indexOf(';');
    return Integer.parseInt(extension < 0 ? line : line.substring(0, extension), 16);
  }

  private String readLine() throws IOException {
    ByteArrayOutputStream line = new ByteArrayOutputStream();
    for (int b = in.read(); b != '\n'; b = in.read()) {
      if (b < 0) {
        throw new EOFException("connection closed mid-line after '" + line + "'");
      }
      if (b != '\r') {
        line.write(b);
      }
    }
    return line.toString(US_ASCII);
  }

  private byte[] readExactly(int length) throws IOException {
    byte[] bytes = in.readNBytes(length);
    if (bytes.length != length) {
      throw new EOFException("expected " + length + " bytes, got " + bytes.length);
    }
    return bytes;
  }

  @Override
  public void close() {
    try {
      socket.close();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
