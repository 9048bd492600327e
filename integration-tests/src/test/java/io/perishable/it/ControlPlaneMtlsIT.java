package io.perishable.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.stub.MetadataUtils;
import io.perishable.cli.stack.LocalStack;
import io.perishable.proto.v1.AuditEvent;
import io.perishable.proto.v1.AuditServiceGrpc;
import io.perishable.proto.v1.IssueResponse;
import io.perishable.proto.v1.RevokeRequest;
import io.perishable.proto.v1.RevokeResponse;
import io.perishable.proto.v1.WatchRequest;
import io.perishable.tls.TestPki;
import io.perishable.tls.TlsFiles;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Iterator;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The whole stack with mutual TLS on every gRPC hop: Envoy → authz-service, authz-service →
 * control plane (Sync and decision reports) and Envoy → control plane (access log). The
 * replica gets its keys and revocations over mTLS, and the control plane's port serves nobody
 * without a certificate from the operator's CA.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ControlPlaneMtlsIT {
  private TestPki ca;
  private Path certs;
  private Stack stack;

  @BeforeAll
  void start() throws Exception {
    ca = TestPki.newCa("perishable-mesh-ca");
    certs = Files.createTempDirectory("perishable-cp-mtls-");
    Duration reload = Duration.ofSeconds(1);
    LocalStack.Mtls mtls = new LocalStack.Mtls(
        ca.issue(certs, "authz", "authz", reload),
        ca.issue(certs, "envoy", "envoy", reload),
        "localhost",
        Optional.of(new LocalStack.ControlPlaneMtls(
            ca.issue(certs, "control-plane", "control-plane", reload),
            ca.issue(certs, "authz-client", "authz-client", reload))));
    // LocalStack.start returns only once authz-service has its key snapshot: over mTLS here.
    stack = new Stack(options -> options.withAuthzMtls(mtls));
  }

  @AfterAll
  void stop() {
    if (stack != null) {
      stack.close();
    }
  }

  private ServingStatus controlPlaneHealth(ChannelCredentials credentials) {
    return Stack.health(stack.stack.controlPlaneTarget(), credentials);
  }

  @Test
  void replicaSyncedOverMtls_enforcesIssueAndRevoke() {
    IssueResponse token = stack.issue();
    assertEquals(200, stack.postJson("/v1/chat/completions", token.getToken(),
        Stack.chat("gpt-4o-mini", 10)).statusCode());

    RevokeResponse revoked = stack.tokens(stack.stack.issuerSecret()).revoke(RevokeRequest
        .newBuilder().setTokenId(token.getTokenId()).setReason("mtls-it").build());

    assertEquals(1, revoked.getAckedReplicasCount(), "the replica acked over the mTLS stream");
    assertEquals(401, stack.postJson("/v1/chat/completions", token.getToken(),
        Stack.chat("gpt-4o-mini", 10)).statusCode());
  }

  @Test
  void envoysAccessLog_reachesTheControlPlaneOverMtls() throws Exception {
    String token = stack.issue().getToken();
    assertEquals(200, stack.postJson("/v1/chat/completions", token,
        Stack.chat("gpt-4o-mini", 12)).statusCode());

    TlsFiles watcher = ca.issue(certs, "watcher", "watcher", Duration.ofSeconds(1));
    Instant deadline = Instant.now().plusSeconds(30);
    while (!auditHasResponseRecord(watcher)) {
      assertTrue(Instant.now().isBefore(deadline),
          "no response record from Envoy's access log within 30s");
      Thread.sleep(200);
    }
  }

  /** Whether AuditService/Watch (over mTLS) has a {@code response} record yet. */
  private boolean auditHasResponseRecord(TlsFiles client) {
    ManagedChannel channel = Grpc.newChannelBuilder(stack.stack.controlPlaneTarget(),
        Stack.clientCredentials(client)).build();
    try {
      Metadata auth = new Metadata();
      auth.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER),
          "Bearer " + stack.stack.issuerSecret());
      Iterator<AuditEvent> events = AuditServiceGrpc.newBlockingStub(channel)
          .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(auth))
          .withDeadlineAfter(1, TimeUnit.SECONDS)
          .watch(WatchRequest.newBuilder().setFromSeq(1).build());
      while (events.hasNext()) {
        String json = events.next().getCanonicalJson().toString(StandardCharsets.UTF_8);
        if (json.contains("\"type\":\"response\"")) {
          return true;
        }
      }
      return false;
    } catch (StatusRuntimeException e) {
      if (e.getStatus().getCode() != Status.Code.DEADLINE_EXCEEDED) {
        throw e;
      }
      return false;
    } finally {
      channel.shutdownNow();
    }
  }

  @Test
  void controlPlanePort_refusesPlaintextAndForeignCertificates() throws Exception {
    assertThrows(StatusRuntimeException.class,
        () -> controlPlaneHealth(InsecureChannelCredentials.create()));
    TlsFiles stranger = TestPki.newCa("stranger").issue(certs, "stranger", "x",
        Duration.ofSeconds(1));
    ca.writeCa(stranger.trustedCa());
    assertThrows(StatusRuntimeException.class,
        () -> controlPlaneHealth(Stack.clientCredentials(stranger)));
    TlsFiles friend = ca.issue(certs, "friend", "friend", Duration.ofSeconds(1));
    assertEquals(ServingStatus.SERVING, controlPlaneHealth(Stack.clientCredentials(friend)));
  }
}
