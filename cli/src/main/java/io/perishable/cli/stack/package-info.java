/**
 * Running a real Envoy in front of perishable: find (or install) the pinned binary, take the
 * shipped bootstrap {@code envoy/dev.yaml} and move it onto other ports, validate it, start it
 * and wait until it is ready, and stop it again.
 *
 * <p>Used by the {@code stack} command (the local stack on its fixed dev ports) and by tests
 * that run the shipped config on ephemeral loopback ports, so that what the tests exercise is
 * exactly the file that ships — only ports and endpoints are rewritten, by {@link
 * io.perishable.cli.stack.EnvoyConfig}.
 *
 * <ul>
 *   <li>{@link io.perishable.cli.stack.EnvoyBinary} — where the Envoy executable is ({@code
 *       envoy/install-envoy.sh} installs it on first use), and where the repository root is.
 *   <li>{@link io.perishable.cli.stack.EnvoyConfig} — an Envoy bootstrap as a YAML tree, with
 *       port and endpoint rewrites.
 *   <li>{@link io.perishable.cli.stack.EnvoyValidator} — {@code envoy --mode validate}.
 *   <li>{@link io.perishable.cli.stack.EnvoyProcess} — a running Envoy, ready when returned.
 *   <li>{@link io.perishable.cli.stack.LoopbackPorts} — free ports on 127.0.0.1.
 *   <li>{@link io.perishable.cli.stack.LocalStack} — the whole system on loopback, Envoy
 *       included, built from the pieces above.
 * </ul>
 *
 * <p>Everything that fails here throws {@link io.perishable.cli.stack.EnvoyException} (an
 * {@link java.io.IOException}) with the output a person needs to see why.
 */
package io.perishable.cli.stack;
