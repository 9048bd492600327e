package io.perishable.authz.envoy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.HeaderMap;
import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.config.core.v3.Metadata;
import io.envoyproxy.envoy.service.ext_proc.v3.ExternalProcessorGrpc;
import io.envoyproxy.envoy.service.ext_proc.v3.HttpBody;
import io.envoyproxy.envoy.service.ext_proc.v3.HttpHeaders;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingRequest;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingResponse;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import io.perishable.authz.budget.MeteredResponse;
import io.perishable.authz.budget.ReportedUsage;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The ext_proc endpoint in-process, fed the message sequence Envoy sends for one request. */
class UsageMeterEndpointTest {
  private final List<MeteredResponse> metered = new CopyOnWriteArrayList<>();
  private final List<ProcessingResponse> answers = new CopyOnWriteArrayList<>();
  private final AtomicBoolean closedByServer = new AtomicBoolean();
  private Server server;
  private ManagedChannel channel;

  @BeforeEach
  void start() throws Exception {
    String name = InProcessServerBuilder.generateName();
    server = InProcessServerBuilder.forName(name).directExecutor()
        .addService(new UsageMeterEndpoint(metered::add, 64 * 1024)).build().start();
    channel = InProcessChannelBuilder.forName(name).directExecutor().build();
  }

  @AfterEach
  void stop() throws Exception {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  private StreamObserver<ProcessingRequest> open() {
    return ExternalProcessorGrpc.newStub(channel).process(new StreamObserver<>() {
      @Override
      public void onNext(ProcessingResponse value) {
        answers.add(value);
      }

      @Override
      public void onError(Throwable t) {}

      @Override
      public void onCompleted() {
        closedByServer.set(true);
      }
    });
  }

  private static HttpHeaders headers(boolean endOfStream, String... nameValues) {
    HeaderMap.Builder map = HeaderMap.newBuilder();
    for (int i = 0; i < nameValues.length; i += 2) {
      // Envoy sends raw_value; value stays empty.
      map.addHeaders(HeaderValue.newBuilder().setKey(nameValues[i])
          .setRawValue(ByteString.copyFromUtf8(nameValues[i + 1])));
    }
    return HttpHeaders.newBuilder().setHeaders(map).setEndOfStream(endOfStream).build();
  }

  private static ProcessingRequest requestHeaders(boolean observability) {
    Struct authz = Struct.newBuilder()
        .putFields("token_id", Value.newBuilder().setStringValue("tok-9").build()).build();
    return ProcessingRequest.newBuilder()
        .setRequestHeaders(headers(false, ":method", "POST", "x-request-id", "req-7",
            "x-perishable-upstream", "anthropic"))
        .setMetadataContext(Metadata.newBuilder()
            .putFilterMetadata(UsageMeterEndpoint.EXT_AUTHZ_NAMESPACE, authz))
        .setObservabilityMode(observability)
        .build();
  }

  private static ProcessingRequest body(String text, boolean end, boolean observability) {
    return ProcessingRequest.newBuilder().setResponseBody(HttpBody.newBuilder()
        .setBody(ByteString.copyFromUtf8(text)).setEndOfStream(end))
        .setObservabilityMode(observability).build();
  }

  private static ProcessingRequest responseHeaders(boolean observability) {
    return ProcessingRequest.newBuilder()
        .setResponseHeaders(headers(false, ":status", "200", "content-type",
            "text/event-stream"))
        .setObservabilityMode(observability).build();
  }

  @Test
  void anthropicStream_usageMetered_everyMessageAnswered() {
    StreamObserver<ProcessingRequest> stream = open();
    stream.onNext(requestHeaders(false));
    stream.onNext(responseHeaders(false));
    stream.onNext(body("event: message_start\ndata: {\"type\":\"message_start\",\"message\":"
        + "{\"usage\":{\"input_tokens\":11,\"output_tokens\":0}}}\n\n", false, false));
    stream.onNext(body("event: message_delta\ndata: {\"type\":\"message_delta\","
        + "\"usage\":{\"output_tokens\":5}}\n\n", true, false));
    stream.onCompleted();

    assertEquals(1, metered.size());
    MeteredResponse r = metered.get(0);
    assertEquals("req-7", r.requestId());
    assertEquals("tok-9", r.tokenId());
    assertEquals("anthropic", r.upstream());
    assertEquals(200, r.status());
    assertEquals(Optional.of(new ReportedUsage(11, 5)), r.usage());
    assertEquals(4, answers.size());
    assertTrue(answers.get(0).hasRequestHeaders());
    assertTrue(answers.get(1).hasResponseHeaders());
    assertTrue(answers.get(3).hasResponseBody());
    assertFalse(answers.get(3).getResponseBody().hasResponse(), "the body is never changed");
  }

  @Test
  void observabilityMode_noAnswers_cutStreamMeteredAsCut() {
    StreamObserver<ProcessingRequest> stream = open();
    stream.onNext(requestHeaders(true));
    stream.onNext(responseHeaders(true));
    stream.onNext(body("data: {\"choices\":[]}\n\n", false, true));
    stream.onCompleted();

    assertEquals(List.of(), answers);
    assertEquals(1, metered.size());
    assertFalse(metered.get(0).complete());
  }

  @Test
  void observabilityMode_serverClosesTheStreamAsSoonAsTheResponseEnded() {
    StreamObserver<ProcessingRequest> stream = open();
    stream.onNext(requestHeaders(true));
    stream.onNext(responseHeaders(true));
    stream.onNext(body("data: {\"choices\":[]}\n\n", false, true));
    assertFalse(closedByServer.get(), "the response has not ended yet");

    stream.onNext(body("data: [DONE]\n\n", true, true));

    // Without waiting for Envoy's half-close (deferred by up to 5 s in observability mode).
    assertTrue(closedByServer.get());
    assertEquals(1, metered.size());
    assertTrue(metered.get(0).complete());
    stream.onCompleted(); // Envoy's late half-close changes nothing
    assertEquals(1, metered.size());
  }
}
