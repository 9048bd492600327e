/**
 * Scope policy: what a granted scope name means and whether a request falls inside it.
 *
 * <p>A token carries scope names; the operator's {@link io.perishable.authz.scope.ScopeCatalog}
 * gives each name its meaning as a {@link io.perishable.authz.scope.ScopeDefinition}: allowed HTTP
 * methods, {@link io.perishable.authz.scope.PathPattern path globs} and an optional {@link
 * io.perishable.authz.scope.RateLimit}. Before matching, the raw {@code :path} from Envoy goes
 * through {@link io.perishable.authz.scope.RequestPath#normalize}, which refuses any path a
 * provider's router could read differently from us (percent-encoding, dot segments, {@code //},
 * path parameters, backslashes, non-ASCII) rather than trying to canonicalize it.
 *
 * <p>Matching is exact and case-sensitive, segment by segment. Pure: no gRPC, no Envoy protos, no
 * clock (a {@link io.perishable.authz.scope.RateLimit} only describes a limit; enforcing it is
 * someone else's job).
 */
package io.perishable.authz.scope;
