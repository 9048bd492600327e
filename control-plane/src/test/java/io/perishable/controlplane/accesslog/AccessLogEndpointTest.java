package io.perishable.controlplane.accesslog;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Struct;
import com.google.protobuf.UInt32Value;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.Metadata;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.core.v3.RequestMethod;
import io.envoyproxy.envoy.data.accesslog.v3.AccessLogCommon;
import io.envoyproxy.envoy.data.accesslog.v3.HTTPAccessLogEntry;
import io.envoyproxy.envoy.data.accesslog.v3.HTTPRequestProperties;
import io.envoyproxy.envoy.data.accesslog.v3.HTTPResponseProperties;
import io.envoyproxy.envoy.service.accesslog.v3.AccessLogServiceGrpc;
import io.envoyproxy.envoy.service.accesslog.v3.StreamAccessLogsMessage;
import io.envoyproxy.envoy.service.accesslog.v3.StreamAccessLogsResponse;
import io.grpc.ManagedChannel;
import io.grpc.stub.StreamObserver;
import io.perishable.controlplane.InProcessGrpc;
import io.perishable.controlplane.audit.AuditEventType;
import io.perishable.controlplane.audit.AuditLog;
import io.perishable.controlplane.audit.AuditRecord;
import io.perishable.controlplane.audit.CheckpointKeys;
import io.perishable.controlplane.audit.FileAuditLog;
import io.perishable.controlplane.audit.FileAuditLogConfig;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

class AccessLogEndpointTest {
  @RegisterExtension
  final InProcessGrpc grpc = new InProcessGrpc();

  @TempDir
  Path dataDir;

  private static HTTPAccessLogEntry entry(String result, String requestId, int status) {
    Struct decision = Struct.newBuilder()
        .putFields("result", Value.newBuilder().setStringValue(result).build())
        .putFields("token_id", Value.newBuilder().setStringValue("tok-1").build())
        .putFields("agent_id", Value.newBuilder().setStringValue("agent-1").build())
        .putFields("scope", Value.newBuilder().setStringValue("llm:complete").build())
        .build();
    return HTTPAccessLogEntry.newBuilder()
        .setCommonProperties(AccessLogCommon.newBuilder()
            .setMetadata(Metadata.newBuilder()
                .putFilterMetadata(ResponseRecords.EXT_AUTHZ_NAMESPACE, decision))
            .setTimeToLastDownstreamTxByte(com.google.protobuf.Duration.newBuilder()
                .setNanos(1_500_000)))
        .setRequest(HTTPRequestProperties.newBuilder().setRequestId(requestId)
            .setPath("/v1/chat/completions?secret=1").setRequestMethod(RequestMethod.POST))
        .setResponse(HTTPResponseProperties.newBuilder()
            .setResponseCode(UInt32Value.of(status)).setResponseBodyBytes(290))
        .build();
  }

  @Test
  void forwardedRequest_becomesResponseRecord_deniedOneDoesNot() throws Exception {
    CheckpointKeys keys = CheckpointKeys.open(dataDir, Clock.systemUTC());
    try (AuditLog log = FileAuditLog.open(FileAuditLogConfig.defaults(dataDir.resolve("audit")),
        keys, Clock.systemUTC())) {
      AccessLogEndpoint endpoint = new AccessLogEndpoint(log);
      ManagedChannel channel = grpc.serve(endpoint);
      List<StreamAccessLogsResponse> done = new ArrayList<>();
      StreamObserver<StreamAccessLogsMessage> stream =
          AccessLogServiceGrpc.newStub(channel).streamAccessLogs(new StreamObserver<>() {
            @Override
            public void onNext(StreamAccessLogsResponse value) {
              done.add(value);
            }

            @Override
            public void onError(Throwable t) {}

            @Override
            public void onCompleted() {}
          });
      stream.onNext(StreamAccessLogsMessage.newBuilder()
          .setIdentifier(StreamAccessLogsMessage.Identifier.newBuilder()
              .setNode(Node.newBuilder().setId("envoy-a")))
          .setHttpLogs(StreamAccessLogsMessage.HTTPAccessLogEntries.newBuilder()
              .addLogEntry(entry("allow", "req-1", 200))
              .addLogEntry(entry("deny", "req-2", 403)))
          .build());
      stream.onCompleted();

      Instant deadline = Instant.now().plusSeconds(10);
      while (endpoint.appended() < 1) {
        assertTrue(Instant.now().isBefore(deadline), "RESPONSE record not appended");
        Thread.onSpinWait();
      }

      List<AuditRecord> responses = new ArrayList<>();
      try (AuditLog.Reader reader = log.readFrom(1)) {
        reader.forEachRemaining(r -> {
          if (r.type() == AuditEventType.RESPONSE) {
            responses.add(r);
          }
        });
      }
      assertEquals(1, responses.size(), "only the forwarded request: " + responses);
      AuditRecord r = responses.get(0);
      assertEquals("req-1", r.requestId());
      assertEquals(Integer.valueOf(200), r.status());
      assertEquals("tok-1", r.tokenId());
      assertEquals("/v1/chat/completions", r.endpoint(), "query never recorded");
      assertEquals(Long.valueOf(1500), r.latencyUs());
      assertEquals("envoy-a", r.attributes().get("envoy_node"));
      assertEquals(0, endpoint.failed());
    }
  }
}
