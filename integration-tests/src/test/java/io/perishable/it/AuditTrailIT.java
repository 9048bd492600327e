package io.perishable.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.perishable.cli.config.ConfigFile;
import io.perishable.controlplane.ControlPlaneServer;
import io.perishable.proto.v1.AuditEvent;
import io.perishable.proto.v1.AuditServiceGrpc;
import io.perishable.proto.v1.WatchRequest;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/**
 * The audit trail through a real Envoy: every decision, including those made while the control
 * plane was down, lands in the chain exactly once; every forwarded request also gets a
 * RESPONSE record from Envoy's access log, joined to its decision by request id.
 */
class AuditTrailIT {
  /** Every record the control plane's AuditService has now (Watch from seq 1, briefly). */
  private static List<JsonNode> records(String target, String issuerSecret) {
    ManagedChannel channel = NettyChannelBuilder.forTarget(target).usePlaintext().build();
    List<JsonNode> out = new ArrayList<>();
    try {
      Metadata auth = new Metadata();
      auth.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER),
          "Bearer " + issuerSecret);
      Iterator<AuditEvent> events = AuditServiceGrpc.newBlockingStub(channel)
          .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(auth))
          .withDeadlineAfter(1, TimeUnit.SECONDS)
          .watch(WatchRequest.newBuilder().setFromSeq(1).build());
      while (events.hasNext()) {
        out.add(Stack.json(events.next().getCanonicalJson().toString(StandardCharsets.UTF_8)));
      }
    } catch (StatusRuntimeException e) {
      if (e.getStatus().getCode() != Status.Code.DEADLINE_EXCEEDED) {
        throw e;
      }
    } finally {
      channel.shutdownNow();
    }
    return out;
  }

  private static long count(List<JsonNode> records, String type) {
    return records.stream().filter(r -> r.at("/type").asText().equals(type)).count();
  }

  private static List<JsonNode> awaitRecords(String target, String secret,
      Predicate<List<JsonNode>> done, String what) throws InterruptedException {
    Instant deadline = Instant.now().plusSeconds(30);
    while (true) {
      List<JsonNode> records = records(target, secret);
      if (done.test(records)) {
        return records;
      }
      assertTrue(Instant.now().isBefore(deadline), what + " not in the audit log within 30s: "
          + records.size() + " records");
      Thread.sleep(200);
    }
  }

  @Test
  void decisionsAcrossAControlPlaneOutage_arriveExactlyOnce_andResponsesJoinByRequestId()
      throws Exception {
    ControlPlaneServer restarted = null;
    try (Stack stack = new Stack()) {
      String target = stack.stack.controlPlaneTarget();
      String secret = stack.stack.issuerSecret();
      String token = stack.issue().getToken();

      assertEquals(200, stack.postJson("/v1/chat/completions", token,
          Stack.chat("gpt-4o-mini", 10)).statusCode());
      assertEquals(200, stack.postJson("/v1/embeddings", token,
          "{\"model\":\"gpt-4o-mini\",\"input\":\"x\"}").statusCode());
      assertEquals(403, stack.postJson("/v1/chat/completions", token,
          Stack.chat("gpt-4o", 10)).statusCode());
      awaitRecords(target, secret, r -> count(r, "used") == 2 && count(r, "denied") == 1
          && count(r, "response") == 2, "the first three decisions and two responses");

      // The control plane goes away; Envoy and authz-service keep serving on pushed keys.
      stack.stack.controlPlane().close();
      assertEquals(200, stack.postJson("/v1/chat/completions", token,
          Stack.chat("gpt-4o-mini", 10)).statusCode());
      assertEquals(200, stack.postJson("/v1/chat/completions", token,
          Stack.chat("gpt-4o-mini", 11)).statusCode());
      assertEquals(401, stack.postJson("/v1/chat/completions", null,
          Stack.chat("gpt-4o-mini", 10)).statusCode());

      restarted = ControlPlaneServer.start(
          ConfigFile.load(stack.stack.configFile()).controlPlane(), Clock.systemUTC());
      List<JsonNode> records = awaitRecords(target, secret,
          r -> count(r, "used") + count(r, "denied") >= 6, "decisions made during the outage");

      assertEquals(4, count(records, "used"), "allowed decisions, each exactly once");
      assertEquals(2, count(records, "denied"), "denied decisions, each exactly once");
      Set<String> replayKeys = new HashSet<>();
      Set<String> usedRequestIds = new HashSet<>();
      for (JsonNode r : records) {
        String type = r.at("/type").asText();
        if (type.equals("used") || type.equals("denied")) {
          String key = r.at("/attributes/replica_spool").asText() + "/"
              + r.at("/attributes/replica_seq").asText();
          assertTrue(replayKeys.add(key), "decision recorded twice: " + key);
          assertTrue(r.at("/prompt_hash").asText().matches("[0-9a-f]{64}"), r.toString());
          if (type.equals("used")) {
            usedRequestIds.add(r.at("/request_id").asText());
          }
        }
      }
      long joined = records.stream()
          .filter(r -> r.at("/type").asText().equals("response"))
          .filter(r -> usedRequestIds.contains(r.at("/request_id").asText()))
          .filter(r -> r.at("/status").asInt() == 200)
          .count();
      assertTrue(joined >= 2, "RESPONSE records joined to USED by request id: " + joined);
      assertTrue(records.stream().anyMatch(r -> r.at("/type").asText().equals("denied")
          && r.at("/reason_code").asText().equals("model_not_allowed")
          && r.at("/model").asText().equals("gpt-4o")),
          "the denied record names the model the body asked for");
      for (JsonNode r : records) {
        assertTrue(!r.toString().contains(token), "the token never enters the audit log");
      }
    } finally {
      if (restarted != null) {
        restarted.close();
      }
    }
  }
}
