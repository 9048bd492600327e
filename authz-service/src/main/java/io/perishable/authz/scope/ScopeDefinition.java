package io.perishable.authz.scope;

import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * What one scope name allows: a request matches if its method is one of {@code methods} and its
 * canonical path matches any of {@code paths}.
 *
 * @param name the scope's name as tokens carry it, e.g. {@code llm:complete}; matches {@code
 *     [a-z0-9][a-z0-9:._-]{0,63}}
 * @param methods the allowed HTTP methods, upper-case tokens such as {@code POST}; compared
 *     exactly, so {@code post} does not match, and {@code HEAD} is not implied by {@code GET}
 * @param paths the allowed path globs; at least one
 * @param rateLimit the request rate allowed per token under this scope, if limited
 */
public record ScopeDefinition(
    String name, Set<String> methods, List<PathPattern> paths, Optional<RateLimit> rateLimit) {

  private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9:._-]{0,63}");
  private static final Pattern METHOD = Pattern.compile("[A-Z]{1,20}");

  /**
   * Validates and defensively copies.
   *
   * @throws IllegalArgumentException if the name is malformed, or methods or paths are empty, or a
   *     method is not an upper-case token
   */
  public ScopeDefinition {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(methods, "methods");
    Objects.requireNonNull(paths, "paths");
    Objects.requireNonNull(rateLimit, "rateLimit");
    if (!NAME.matcher(name).matches()) {
      throw new IllegalArgumentException(
          "scope name '" + name + "' must match [a-z0-9][a-z0-9:._-]{0,63}");
    }
    if (methods.isEmpty()) {
      throw new IllegalArgumentException("scope '" + name + "' must allow at least one method");
    }
    Set<String> copy = new LinkedHashSet<>();
    for (String method : methods) {
      Objects.requireNonNull(method, "method");
      if (!METHOD.matcher(method).matches()) {
        throw new IllegalArgumentException(
            "scope '" + name + "': method '" + method + "' must be an upper-case token like POST");
      }
      copy.add(method);
    }
    methods = Collections.unmodifiableSet(copy);
    if (paths.isEmpty()) {
      throw new IllegalArgumentException("scope '" + name + "' must list at least one path glob");
    }
    paths = List.copyOf(paths);
  }

  /**
   * Whether this scope allows {@code method} on {@code normalizedPath}, a canonical path as {@link
   * RequestPath#normalize} returns it. A non-canonical or null path, or a null method, never
   * matches.
   */
  public boolean matches(String method, String normalizedPath) {
    return RequestPath.isCanonical(normalizedPath) && matchesCanonical(method, normalizedPath);
  }

  boolean matchesCanonical(String method, String path) {
    if (method == null || !methods.contains(method)) {
      return false;
    }
    for (PathPattern pattern : paths) {
      if (pattern.matchesCanonical(path)) {
        return true;
      }
    }
    return false;
  }
}
