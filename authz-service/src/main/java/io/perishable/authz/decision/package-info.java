/**
 * The pure decision engine: an {@link io.perishable.authz.decision.AuthzRequest} in, a
 * {@link io.perishable.authz.decision.Decision} out. Knows nothing of gRPC or Envoy; time
 * comes from an injected clock.
 */
package io.perishable.authz.decision;
