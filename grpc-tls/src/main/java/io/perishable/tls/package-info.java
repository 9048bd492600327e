/**
 * Optional mutual TLS for every gRPC hop (Envoy → authz-service, authz-service → control plane,
 * agents and the CLI → control plane): credentials built from PEM files that are re-read while
 * running, so certificates rotated on disk (cert-manager, a mesh agent, a mounted Secret) take
 * effect without a restart.
 */
package io.perishable.tls;
