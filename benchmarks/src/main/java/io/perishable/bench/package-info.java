/**
 * The benchmark harness behind {@code bench/run}: what perishable adds to an LLM call, measured
 * side by side on this machine so each figure is a ratio, not an absolute time.
 *
 * <p>{@link io.perishable.bench.BenchMain} runs every measurement and prints one table: Envoy
 * alone vs Envoy with our ext_authz ({@link io.perishable.bench.Wrk}), the Check RPC vs an empty
 * handler ({@link io.perishable.bench.Ghz}), heap per cached token ({@link
 * io.perishable.bench.HeapPerToken}) and the JMH micro-benchmarks ({@code jmh/}). {@link
 * io.perishable.bench.BenchStack} is everything the load generators talk to; it checks, before
 * any load, that the exact request they send is allowed. Setups compared with each other run in
 * alternating {@link io.perishable.bench.Rounds}, so the machine's background noise hits them
 * alike.
 */
package io.perishable.bench;
