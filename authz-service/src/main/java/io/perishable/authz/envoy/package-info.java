/**
 * gRPC glue for Envoy's {@code envoy.service.auth.v3.Authorization/Check}: a CheckRequest
 * becomes an {@link io.perishable.authz.decision.AuthzRequest}, the engine decides, and the
 * {@link io.perishable.authz.decision.Decision} becomes a CheckResponse. No policy lives here.
 */
package io.perishable.authz.envoy;
