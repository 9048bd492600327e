/**
 * The {@code perishable} command line: run the control plane or authz-service, run the whole
 * local stack, and issue (or delegate), revoke, list and trace tokens from the shell.
 *
 * <p>Exit codes: 0 success; 1 the server refused or failed (the message carries the gRPC
 * status); 2 usage error; 3 configuration error.
 */
package io.perishable.cli;
