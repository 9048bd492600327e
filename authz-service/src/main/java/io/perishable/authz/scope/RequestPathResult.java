package io.perishable.authz.scope;

import java.util.Objects;

/** The outcome of {@link RequestPath#normalize}: a path we can match, or why we will not. */
public sealed interface RequestPathResult {

  /**
   * The path is canonical.
   *
   * @param path the path component, starting with {@code /}, as sent; match this against scopes
   * @param query everything after the first {@code ?}, not decoded; empty if there was no query or
   *     the {@code ?} had nothing after it
   */
  record Ok(String path, String query) implements RequestPathResult {
    public Ok {
      Objects.requireNonNull(path, "path");
      Objects.requireNonNull(query, "query");
    }
  }

  /**
   * The path was refused.
   *
   * @param detail why, safe to show the client: it names at most one offending ASCII character and
   *     an index, never echoes the path
   */
  record Rejected(String detail) implements RequestPathResult {
    public Rejected {
      Objects.requireNonNull(detail, "detail");
    }
  }
}
