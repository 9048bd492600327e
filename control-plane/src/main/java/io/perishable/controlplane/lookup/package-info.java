/**
 * Reading the token index: {@link io.perishable.controlplane.lookup.TokenLookup} answers
 * {@code GetToken}, {@code ListTokens} and {@code GetLineage}, giving each indexed token its
 * state (live, revoked by which rule, expired) at the moment of the call.
 */
package io.perishable.controlplane.lookup;
