package io.perishable.authz.scope;

/**
 * Turns the raw {@code :path} Envoy sends into the path we match, or says why it cannot be trusted.
 *
 * <p>Envoy is configured to normalize paths, merge slashes and reject escaped slashes before we see
 * them; we check again and <em>refuse</em> anything non-canonical instead of normalizing it
 * ourselves, because a provider's router may decode or collapse it differently from us. The raw
 * path is split at the first {@code ?}; then the path part is refused if it:
 *
 * <ul>
 *   <li>is empty or does not start with {@code /} (asterisk-form, absolute-form);
 *   <li>contains {@code %} (any percent-encoding: routers decode it, we will not guess how);
 *   <li>contains {@code \}, {@code ;} (path parameters, which some routers strip) or {@code #};
 *   <li>contains a control character, space, DEL or any non-ASCII character;
 *   <li>contains any other character not allowed in an RFC 3986 path segment ({@code "<>[]^`{|}});
 *   <li>has an empty segment ({@code //}) or a {@code .} or {@code ..} segment anywhere, including
 *       a trailing {@code /.} or {@code /..}.
 * </ul>
 *
 * <p>The query is returned separately and not decoded; it is refused only if it contains {@code #},
 * {@code ;} (a parameter separator to some frameworks), a control character, space or non-ASCII
 * character, malformed percent-encoding, or another character not allowed in an RFC 3986 query.
 *
 * <p>A trailing slash is kept: {@code /v1/chat/completions/} is a different path from {@code
 * /v1/chat/completions} and does not match a glob naming the latter. Case is kept too: {@code
 * /V1/Chat/Completions} does not match lower-case globs.
 */
public final class RequestPath {

  /** RFC 3986 pchar minus {@code %} and {@code ;}, plus {@code /}. */
  private static final boolean[] PATH_CHARS = asciiSet("-._~!$&'()*+,=:@/");

  /** RFC 3986 query characters minus {@code ;}; {@code %} is checked separately. */
  private static final boolean[] QUERY_CHARS = asciiSet("-._~!$&'()*+,=:@/?");

  private RequestPath() {}

  /**
   * Splits and checks a raw {@code :path}.
   *
   * @param rawPath the {@code :path} pseudo-header as received; null is refused
   * @return the path and query, or the reason the path was refused
   */
  public static RequestPathResult normalize(String rawPath) {
    if (rawPath == null || rawPath.isEmpty()) {
      return new RequestPathResult.Rejected("request path is empty");
    }
    int question = rawPath.indexOf('?');
    String path = question < 0 ? rawPath : rawPath.substring(0, question);
    String query = question < 0 ? "" : rawPath.substring(question + 1);
    String problem = pathProblem(path);
    if (problem == null) {
      problem = queryProblem(query);
    }
    return problem == null
        ? new RequestPathResult.Ok(path, query)
        : new RequestPathResult.Rejected(problem);
  }

  /** Whether {@code path} (no query) is one {@link #normalize} would return unchanged. */
  static boolean isCanonical(String path) {
    return path != null && pathProblem(path) == null;
  }

  /** Null if {@code path} is canonical, else why not. */
  private static String pathProblem(String path) {
    if (path.isEmpty()) {
      return "request path is empty";
    }
    if (path.charAt(0) != '/') {
      return "request path must start with '/'";
    }
    for (int i = 0; i < path.length(); i++) {
      char c = path.charAt(i);
      if (c < 0x80 && PATH_CHARS[c]) {
        continue;
      }
      return switch (c) {
        case '%' ->
            "request path contains '%' at index " + i + ": percent-encoding is not accepted";
        case '\\' -> "request path contains a backslash at index " + i;
        case ';' ->
            "request path contains ';' at index " + i + ": path parameters are not accepted";
        case '#' -> "request path contains '#' at index " + i;
        default -> "request path contains " + describe(c) + " at index " + i;
      };
    }
    int segmentStart = 1;
    while (segmentStart <= path.length()) {
      int slash = path.indexOf('/', segmentStart);
      int segmentEnd = slash < 0 ? path.length() : slash;
      int length = segmentEnd - segmentStart;
      if (length == 0 && slash >= 0) {
        return "request path contains an empty segment ('//') at index " + segmentStart;
      }
      if ((length == 1 || length == 2)
          && path.charAt(segmentStart) == '.'
          && path.charAt(segmentEnd - 1) == '.') {
        return "request path contains a '.' or '..' segment at index " + segmentStart;
      }
      segmentStart = segmentEnd + 1;
    }
    return null;
  }

  /** Null if {@code query} (without the leading {@code ?}) is acceptable, else why not. */
  private static String queryProblem(String query) {
    for (int i = 0; i < query.length(); i++) {
      char c = query.charAt(i);
      if (c < 0x80 && QUERY_CHARS[c]) {
        continue;
      }
      if (c == '%') {
        if (i + 2 < query.length() && isHex(query.charAt(i + 1)) && isHex(query.charAt(i + 2))) {
          i += 2;
          continue;
        }
        return "query contains malformed percent-encoding at index " + i;
      }
      return "query contains " + describe(c) + " at index " + i;
    }
    return null;
  }

  private static boolean isHex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  }

  /** Names a refused character without echoing anything but a printable ASCII character. */
  private static String describe(char c) {
    if (c == ' ') {
      return "a space";
    }
    if (c < 0x20 || c == 0x7F) {
      return "a control character";
    }
    if (c >= 0x80) {
      return "a non-ASCII character";
    }
    return "'" + c + "'";
  }

  private static boolean[] asciiSet(String punctuation) {
    boolean[] set = new boolean[128];
    for (char c = 'a'; c <= 'z'; c++) {
      set[c] = true;
    }
    for (char c = 'A'; c <= 'Z'; c++) {
      set[c] = true;
    }
    for (char c = '0'; c <= '9'; c++) {
      set[c] = true;
    }
    for (int i = 0; i < punctuation.length(); i++) {
      set[punctuation.charAt(i)] = true;
    }
    return set;
  }
}
