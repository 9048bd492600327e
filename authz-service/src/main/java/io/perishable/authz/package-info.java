/**
 * authz-service: Envoy's {@code envoy.service.auth.v3.Authorization/Check} for perishable
 * tokens.
 *
 * <p>Rooms: {@code token} verifies tokens against pushed public keys (cached);
 * {@code scope} matches method and path against the operator's scope catalog; {@code body}
 * reads what matters from the JSON body; {@code upstream} holds the real provider keys;
 * {@code decision} is the pure engine that combines them into a {@code Decision};
 * {@code envoy} is the gRPC glue that turns a {@code CheckRequest} into a domain request and
 * the {@code Decision} back into a {@code CheckResponse}; {@code sync} keeps keys current from
 * the control plane. {@link io.perishable.authz.AuthzServer} wires them together.
 */
package io.perishable.authz;
