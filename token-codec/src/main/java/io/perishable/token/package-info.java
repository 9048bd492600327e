/**
 * The perishable token format: {@code "prs_" + base64url(claims) + "." + base64url(signature)}.
 *
 * <p>Shared by the control plane (which signs) and authz-service (which verifies). The
 * control plane holds {@link io.perishable.token.SigningKey}s; the data plane only ever sees
 * {@link io.perishable.token.Ed25519PublicKeys raw public keys}. Decoding is strict: exactly
 * one canonical encoding of a token is accepted, so a token cannot be re-encoded into a
 * different string that still verifies.
 */
package io.perishable.token;
