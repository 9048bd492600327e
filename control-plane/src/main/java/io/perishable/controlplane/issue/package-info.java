/**
 * Minting tokens: {@link io.perishable.controlplane.issue.IssuancePolicy} decides what a
 * request may get (pure, no gRPC, no clock), {@link io.perishable.controlplane.issue.TokenIssuer}
 * signs it, and {@link io.perishable.controlplane.issue.TokenServiceEndpoint} is the gRPC glue.
 */
package io.perishable.controlplane.issue;
