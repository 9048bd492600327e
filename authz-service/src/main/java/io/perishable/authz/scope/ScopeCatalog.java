package io.perishable.authz.scope;

import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * Immutable: the operator's catalog of scope definitions, the meaning of every scope name a token
 * may carry. Thread-safe.
 */
public final class ScopeCatalog {

  private final Map<String, ScopeDefinition> byName;

  /**
   * Creates a catalog, keeping the given order for {@link #names()}.
   *
   * @throws IllegalArgumentException if two definitions share a name
   */
  public ScopeCatalog(Collection<ScopeDefinition> scopes) {
    Objects.requireNonNull(scopes, "scopes");
    Map<String, ScopeDefinition> map = new LinkedHashMap<>();
    for (ScopeDefinition scope : scopes) {
      Objects.requireNonNull(scope, "scope");
      if (map.putIfAbsent(scope.name(), scope) != null) {
        throw new IllegalArgumentException("duplicate scope name '" + scope.name() + "'");
      }
    }
    this.byName = Collections.unmodifiableMap(map);
  }

  /** The definition of {@code name}, if the catalog has one. */
  public Optional<ScopeDefinition> get(String name) {
    return Optional.ofNullable(byName.get(name));
  }

  /** All scope names, in catalog order. */
  public Set<String> names() {
    return byName.keySet();
  }

  /**
   * The first granted scope (in grant order) whose methods and paths match; empty if none. Unknown
   * scope names in the grant are ignored. {@code normalizedPath} must be a canonical path as {@link
   * RequestPath#normalize} returns it; a non-canonical or null path, or a null method, matches
   * nothing.
   */
  public Optional<ScopeDefinition> match(
      Collection<String> grantedScopes, String method, String normalizedPath) {
    Objects.requireNonNull(grantedScopes, "grantedScopes");
    if (method == null || !RequestPath.isCanonical(normalizedPath)) {
      return Optional.empty();
    }
    for (String granted : grantedScopes) {
      ScopeDefinition scope = granted == null ? null : byName.get(granted);
      if (scope != null && scope.matchesCanonical(method, normalizedPath)) {
        return Optional.of(scope);
      }
    }
    return Optional.empty();
  }

  @Override
  public String toString() {
    return "ScopeCatalog" + byName.keySet();
  }
}
