/**
 * End-to-end tests: a real Envoy (installed by {@code envoy/install-envoy.sh}), the control
 * plane and authz-service, and the fake LLM upstream, all on loopback.
 */
package io.perishable.it;
