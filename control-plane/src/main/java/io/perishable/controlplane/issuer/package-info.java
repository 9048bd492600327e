/**
 * Who may call the token API and what each caller may grant: issuer secrets and
 * workload-identity JWTs checked in a gRPC interceptor, and per-principal ceilings
 * ({@link io.perishable.controlplane.issuer.IssuerGrants}).
 */
package io.perishable.controlplane.issuer;
