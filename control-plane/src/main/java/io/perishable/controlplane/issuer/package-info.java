/** Who may call the token API: issuer secrets checked in a gRPC interceptor. */
package io.perishable.controlplane.issuer;
