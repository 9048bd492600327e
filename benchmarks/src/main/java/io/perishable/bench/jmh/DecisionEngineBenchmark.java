package io.perishable.bench.jmh;

import io.perishable.authz.decision.AuthzRequest;
import io.perishable.authz.decision.Decision;
import io.perishable.authz.decision.DecisionEngine;
import io.perishable.bench.BenchRequest;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/** {@link DecisionEngine#decide} on the benchmark request: cached valid token, 2 KB chat. */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class DecisionEngineBenchmark {
  private DecisionEngine engine;
  private AuthzRequest request;

  @Setup
  public void setUp() {
    EngineFixture fixture = new EngineFixture();
    engine = fixture.engine();
    request = new BenchRequest(fixture.token()).authzRequest();
    Decision first = engine.decide(request);
    if (!(first instanceof Decision.Allow)) {
      throw new IllegalStateException("the benchmark request is not allowed: " + first);
    }
    if (fixture.verifier().cachedTokens() != 1) {
      throw new IllegalStateException("the token was not cached");
    }
  }

  @Benchmark
  public Decision decideCachedToken2kChat() {
    return engine.decide(request);
  }
}
