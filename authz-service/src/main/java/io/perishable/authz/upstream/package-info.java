/**
 * Upstream providers and their real API keys. Keys are read from a file or an environment
 * variable, held in memory, and only ever leave this package as a header value for Envoy.
 */
package io.perishable.authz.upstream;
