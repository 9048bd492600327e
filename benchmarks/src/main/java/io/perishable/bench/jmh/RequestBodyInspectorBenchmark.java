package io.perishable.bench.jmh;

import io.perishable.authz.body.BodyInspection;
import io.perishable.authz.body.RequestBodyInspector;
import io.perishable.bench.ChatBodies;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/** {@link RequestBodyInspector#inspect} on valid chat bodies of 2 KB and 1 MiB. */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class RequestBodyInspectorBenchmark {
  @Param({"2048", "1048576"})
  public int bodyBytes;

  private RequestBodyInspector inspector;
  private byte[] body;

  @Setup
  public void setUp() {
    inspector = new RequestBodyInspector(RequestBodyInspector.DEFAULT_MAX_DEPTH);
    body = ChatBodies.ofSize(bodyBytes);
    BodyInspection first = inspector.inspect(body);
    if (!(first instanceof BodyInspection.Accepted)) {
      throw new IllegalStateException("the benchmark body is refused: " + first);
    }
  }

  @Benchmark
  public BodyInspection inspect() {
    return inspector.inspect(body);
  }
}
