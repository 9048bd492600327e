/**
 * Request body inspection: reads the few fields the scope policy needs ({@code model}, {@code
 * max_tokens}, {@code max_completion_tokens}, {@code n}, {@code stream}) from a buffered JSON
 * request body, and refuses any body whose meaning a provider's JSON parser could read differently
 * from ours.
 *
 * <p>The door is {@link io.perishable.authz.body.RequestBodyInspector}: one instance per process,
 * thread-safe, returning a {@link io.perishable.authz.body.BodyInspection} that is either the
 * {@link io.perishable.authz.body.BodyFacts} or a {@link io.perishable.authz.body.BodyProblem} with
 * a detail safe to show the client. It never throws on hostile input.
 *
 * <p>Pure: no gRPC, no Envoy protos, no clock; only jackson-core's streaming parser.
 */
package io.perishable.authz.body;
