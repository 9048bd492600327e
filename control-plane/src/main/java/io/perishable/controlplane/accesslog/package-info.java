/**
 * Envoy's gRPC access log service ({@code envoy.service.accesslog.v3}): for every request Envoy
 * forwarded, a RESPONSE audit record with the upstream's status and the latency, joined to the
 * decision by Envoy's request id and carrying the token id authz-service put into the
 * ext_authz dynamic metadata.
 */
package io.perishable.controlplane.accesslog;
