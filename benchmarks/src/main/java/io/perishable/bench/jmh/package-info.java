/**
 * JMH micro-benchmarks of authz-service's hot path, without any network: the decision engine on
 * a cached token, the whole Check handler (CheckRequest in, CheckResponse out), and the body
 * inspector on 2 KB and 1 MiB chat bodies. {@link io.perishable.bench.jmh.JmhRun} runs them for
 * {@code bench/run}; {@code java -jar benchmarks/target/benchmarks.jar jmh [JMH options]} runs
 * them by hand.
 */
package io.perishable.bench.jmh;
