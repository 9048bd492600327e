package io.perishable.bench.jmh;

import io.perishable.authz.budget.MeteredResponse;
import io.perishable.authz.budget.ResponseMeter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * authz-service's side of metering one streamed response: a {@link ResponseMeter} fed an
 * OpenAI SSE stream of 256 content chunks and the include_usage chunk, one ext_proc body
 * message per SSE event, as Envoy sends them; reads the usage and hashes the body. Without the
 * gRPC transport, which is Envoy's and grpc-java's share.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class UsageMeterBenchmark {
  private static final int CHUNKS = 256;

  private List<byte[]> events;
  private MeteredResponse last;

  @Setup
  public void setUp() {
    events = new ArrayList<>();
    for (int i = 0; i < CHUNKS; i++) {
      events.add(("data: {\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\","
          + "\"created\":1764000000,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,"
          + "\"delta\":{\"content\":\"tok" + i + " \"},\"finish_reason\":null}],"
          + "\"usage\":null}\n\n").getBytes(StandardCharsets.UTF_8));
    }
    events.add(("data: {\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\","
        + "\"choices\":[],\"usage\":{\"prompt_tokens\":512,\"completion_tokens\":" + CHUNKS
        + ",\"total_tokens\":" + (512 + CHUNKS) + "}}\n\ndata: [DONE]\n\n")
        .getBytes(StandardCharsets.UTF_8));
    meterOneStream();
    if (last == null || last.usage().isEmpty()
        || last.usage().get().output() != CHUNKS) {
      throw new IllegalStateException("the benchmark stream is not metered: " + last);
    }
  }

  @Benchmark
  public MeteredResponse meterOneStream() {
    ResponseMeter meter = new ResponseMeter(r -> last = r, 1024 * 1024);
    meter.request("req-bench", "tok-bench", "openai");
    meter.responseHeaders(200, "text/event-stream", false);
    for (int i = 0; i < events.size(); i++) {
      meter.responseBody(events.get(i), i == events.size() - 1);
    }
    return last;
  }
}
