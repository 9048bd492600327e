package io.perishable.authz.scope;

import java.util.Objects;

/**
 * A compiled path glob, matched segment by segment against a canonical request path.
 *
 * <p>Syntax: a glob starts with {@code /} and is a sequence of {@code /}-separated segments, each
 * one of
 *
 * <ul>
 *   <li>a literal, matched exactly and case-sensitively ({@code chat});
 *   <li>{@code *}, matching exactly one non-empty segment;
 *   <li>{@code **}, matching zero or more segments of any content.
 * </ul>
 *
 * <p>Wildcards stand only as whole segments: {@code /v1/chat*} and {@code /v1/**x} are refused, not
 * guessed at. Examples:
 *
 * <ul>
 *   <li>{@code /v1/chat/completions} matches only that path; not {@code /v1/chat/completions/} (a
 *       trailing slash is an extra, empty segment).
 *   <li>{@code /v1/*}{@code /completions} matches {@code /v1/chat/completions}; not {@code
 *       /v1/completions} or {@code /v1/a/b/completions}.
 *   <li>{@code /v1/**} matches {@code /v1}, {@code /v1/}, {@code /v1/models} and {@code /v1/a/b/c};
 *       not {@code /v10} or {@code /v2/models}.
 * </ul>
 *
 * <p>{@link #matches} accepts only canonical paths as {@link RequestPath#normalize} produces them
 * (no query); anything else — {@code ..} segments, percent-encoding and the rest — never matches,
 * so a caller that forgets to normalize fails closed. Matching runs in O(segments × glob segments)
 * time without allocating. Instances are immutable; equality is by glob text.
 */
public final class PathPattern {

  private static final int LITERAL = 0;
  private static final int ONE = 1;
  private static final int ANY = 2;

  private final String glob;
  private final int[] kinds;
  private final String[] literals;

  private PathPattern(String glob, int[] kinds, String[] literals) {
    this.glob = glob;
    this.kinds = kinds;
    this.literals = literals;
  }

  /**
   * Compiles a glob.
   *
   * @throws IllegalArgumentException naming the problem, if the glob is empty, does not start with
   *     {@code /}, has an empty segment ({@code //}, a trailing {@code /}, or just {@code /}), a
   *     {@code .} or {@code ..} segment, a wildcard that is not a whole segment, two {@code **}
   *     segments in a row, or a character that cannot occur in a canonical request path (including
   *     {@code ?}, {@code %}, {@code ;}, {@code #}, {@code \}, space, non-ASCII)
   */
  public static PathPattern compile(String glob) {
    Objects.requireNonNull(glob, "glob");
    if (glob.isEmpty()) {
      throw new IllegalArgumentException("path glob must not be empty");
    }
    if (glob.charAt(0) != '/') {
      throw invalid(glob, "must start with '/'");
    }
    String[] segments = glob.substring(1).split("/", -1);
    int[] kinds = new int[segments.length];
    String[] literals = new String[segments.length];
    for (int i = 0; i < segments.length; i++) {
      String segment = segments[i];
      if (segment.isEmpty()) {
        throw invalid(
            glob,
            "has an empty segment ('//', a trailing '/', or just '/'); use '/**' to match"
                + " any trailing segments");
      }
      if (segment.equals("**")) {
        if (i > 0 && kinds[i - 1] == ANY) {
          throw invalid(glob, "has two '**' segments in a row");
        }
        kinds[i] = ANY;
      } else if (segment.equals("*")) {
        kinds[i] = ONE;
      } else if (segment.contains("**")) {
        throw invalid(glob, "uses '**' inside a segment; '**' must be a whole segment");
      } else if (segment.contains("*")) {
        throw invalid(glob, "uses '*' inside a segment; '*' must be a whole segment");
      } else if (segment.equals(".") || segment.equals("..")) {
        throw invalid(glob, "has a '.' or '..' segment, which no canonical path contains");
      } else {
        if (!RequestPath.isCanonical("/" + segment)) {
          throw invalid(
              glob,
              "has a character that cannot occur in a canonical request path"
                  + " (allowed: letters, digits and -._~!$&'()+,=:@)");
        }
        kinds[i] = LITERAL;
        literals[i] = segment;
      }
    }
    return new PathPattern(glob, kinds, literals);
  }

  /**
   * Whether the canonical path {@code normalizedPath} matches this glob. Non-canonical input,
   * including a path with a query or null, does not match.
   */
  public boolean matches(String normalizedPath) {
    return RequestPath.isCanonical(normalizedPath) && matchesCanonical(normalizedPath);
  }

  /**
   * Matches a path already known to be canonical. Greedy with one backtrack point, as in classic
   * wildcard matching: on a mismatch the most recent {@code **} absorbs one more segment.
   */
  boolean matchesCanonical(String path) {
    int end = path.length();
    int token = 0;
    int segment = 1; // start of the current segment; all consumed once it exceeds end
    int anyToken = -1;
    int anySegment = -1;
    while (segment <= end) {
      int slash = path.indexOf('/', segment);
      int segmentEnd = slash < 0 ? end : slash;
      if (token < kinds.length && kinds[token] == ANY) {
        anyToken = token;
        anySegment = segment;
        token++;
      } else if (token < kinds.length && segmentMatches(token, path, segment, segmentEnd)) {
        token++;
        segment = segmentEnd + 1;
      } else if (anyToken >= 0) {
        token = anyToken + 1;
        int absorbed = path.indexOf('/', anySegment);
        anySegment = (absorbed < 0 ? end : absorbed) + 1;
        segment = anySegment;
      } else {
        return false;
      }
    }
    while (token < kinds.length && kinds[token] == ANY) {
      token++;
    }
    return token == kinds.length;
  }

  private boolean segmentMatches(int token, String path, int start, int end) {
    if (kinds[token] == ONE) {
      return end > start;
    }
    String literal = literals[token];
    return end - start == literal.length() && path.startsWith(literal, start);
  }

  private static IllegalArgumentException invalid(String glob, String problem) {
    return new IllegalArgumentException("path glob '" + glob + "' " + problem);
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof PathPattern that && glob.equals(that.glob);
  }

  @Override
  public int hashCode() {
    return glob.hashCode();
  }

  /** The glob this pattern was compiled from. */
  @Override
  public String toString() {
    return glob;
  }
}
