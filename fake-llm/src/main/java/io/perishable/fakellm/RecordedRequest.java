package io.perishable.fakellm;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * One HTTP request exactly as the fake upstream received it, before any routing or credential
 * check.
 *
 * <p>A request is recorded whatever its outcome (401, 404, 400 or 200), so a test can always ask
 * what reached the provider side of Envoy. Typical assertions:
 *
 * <pre>{@code
 * RecordedRequest seen = upstream.lastRequest();
 * assertEquals(Optional.of("Bearer sk-real"), seen.header("authorization"));
 * assertFalse(seen.contains("prs_"));
 * }</pre>
 *
 * <p>Instances are immutable and safe to share between threads: the header list is an unmodifiable
 * copy and the body is copied on the way in and on the way out. {@code equals} compares the body by
 * content.
 *
 * @param method the request method as sent, e.g. {@code POST}
 * @param path the request target as sent, including any query string, e.g. {@code
 *     /v1/messages?beta=true}
 * @param headers every header line in arrival order; names are lower-cased, values are untouched,
 *     and a header sent twice appears twice. Framing headers such as {@code transfer-encoding:
 *     chunked} are kept as the client sent them. Over HTTP/2 the list starts with the
 *     pseudo-headers ({@code :method}, {@code :scheme}, {@code :authority}, {@code :path}).
 * @param body the request body bytes after de-chunking; empty, never null, when there was none
 */
public record RecordedRequest(
    String method, String path, List<Map.Entry<String, String>> headers, byte[] body) {

  /** Copies every component so that later changes by the caller cannot rewrite history. */
  public RecordedRequest {
    Objects.requireNonNull(method, "method");
    Objects.requireNonNull(path, "path");
    Objects.requireNonNull(headers, "headers");
    Objects.requireNonNull(body, "body");
    List<Map.Entry<String, String>> lowerCased = new ArrayList<>(headers.size());
    for (Map.Entry<String, String> header : headers) {
      lowerCased.add(Map.entry(header.getKey().toLowerCase(Locale.ROOT), header.getValue()));
    }
    headers = List.copyOf(lowerCased);
    body = body.clone();
  }

  /** Returns a copy of the body bytes; the record itself never changes. */
  @Override
  public byte[] body() {
    return body.clone();
  }

  /**
   * Returns every value of the named header, in arrival order.
   *
   * @param name the header name, matched case-insensitively
   * @return the values, empty when the header was not sent
   */
  public List<String> headerValues(String name) {
    String wanted = name.toLowerCase(Locale.ROOT);
    List<String> values = new ArrayList<>();
    for (Map.Entry<String, String> header : headers) {
      if (header.getKey().equals(wanted)) {
        values.add(header.getValue());
      }
    }
    return List.copyOf(values);
  }

  /**
   * Returns the first value of the named header.
   *
   * @param name the header name, matched case-insensitively
   * @return the first value, or empty when the header was not sent
   */
  public Optional<String> header(String name) {
    return headerValues(name).stream().findFirst();
  }

  /** Returns the body decoded as UTF-8; malformed bytes become U+FFFD. */
  public String bodyText() {
    return new String(body, UTF_8);
  }

  /**
   * Tells whether {@code needle} occurs anywhere a credential could travel: the request target, any
   * header name, any header value, or the body.
   *
   * <p>The body is searched as raw bytes for the needle's UTF-8 encoding, so a match is found even
   * when other parts of the body are not valid UTF-8. The search is case-sensitive and does not
   * decode JSON or URL escapes.
   *
   * @param needle the text to look for, e.g. {@code "prs_"} or a full token
   * @return true if the text occurs in at least one place
   */
  public boolean contains(String needle) {
    Objects.requireNonNull(needle, "needle");
    if (path.contains(needle)) {
      return true;
    }
    for (Map.Entry<String, String> header : headers) {
      if (header.getKey().contains(needle) || header.getValue().contains(needle)) {
        return true;
      }
    }
    return indexOf(body, needle.getBytes(UTF_8)) >= 0;
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof RecordedRequest that
        && method.equals(that.method)
        && path.equals(that.path)
        && headers.equals(that.headers)
        && Arrays.equals(body, that.body);
  }

  @Override
  public int hashCode() {
    return Objects.hash(method, path, headers, Arrays.hashCode(body));
  }

  /** Shows the body as text, cut short so that a failing assertion stays readable. */
  @Override
  public String toString() {
    String text = bodyText();
    String shown = text.length() <= 512 ? text : text.substring(0, 512) + "...";
    return String.format(
        "RecordedRequest[%s %s, headers=%s, body=%s]", method, path, headers, shown);
  }

  private static int indexOf(byte[] haystack, byte[] needle) {
    outer:
    for (int start = 0; start <= haystack.length - needle.length; start++) {
      for (int i = 0; i < needle.length; i++) {
        if (haystack[start + i] != needle[i]) {
          continue outer;
        }
      }
      return start;
    }
    return -1;
  }
}
