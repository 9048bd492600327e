package io.perishable.bench.jmh;

import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import io.grpc.stub.StreamObserver;
import io.perishable.authz.decision.DecisionLog;
import io.perishable.authz.envoy.AuthorizationEndpoint;
import io.perishable.bench.BenchRequest;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * authz-service's whole Check handler without the network: the CheckRequest Envoy sends (2 KB
 * chat, cached token) in, the CheckResponse out, through the production decision log. The gap
 * between this and the Check RPC measured with ghz is gRPC, HTTP/2 and protobuf on the wire.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class CheckHandlerBenchmark {
  private AuthorizationEndpoint endpoint;
  private CheckRequest request;
  private final Capture capture = new Capture();

  @Setup
  public void setUp() {
    EngineFixture fixture = new EngineFixture();
    endpoint = new AuthorizationEndpoint(fixture.engine(), new DecisionLog());
    request = new BenchRequest(fixture.token()).checkRequest();
    if (check().getStatus().getCode() != 0) {
      throw new IllegalStateException("the benchmark Check is not allowed: " + capture.last);
    }
  }

  @Benchmark
  public CheckResponse check() {
    endpoint.check(request, capture);
    return capture.last;
  }

  private static final class Capture implements StreamObserver<CheckResponse> {
    CheckResponse last;

    @Override
    public void onNext(CheckResponse value) {
      last = value;
    }

    @Override
    public void onError(Throwable t) {
      throw new IllegalStateException(t);
    }

    @Override
    public void onCompleted() {}
  }
}
