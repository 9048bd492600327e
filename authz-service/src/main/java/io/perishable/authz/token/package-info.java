/**
 * Token verification in the data plane: format, Ed25519 signature against the pushed public
 * keys, expiry with a clock-skew allowance. Verified claims are cached (Caffeine) until the
 * token expires, so the signature check runs once per token, not once per request.
 */
package io.perishable.authz.token;
