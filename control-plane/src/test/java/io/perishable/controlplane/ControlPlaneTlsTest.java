package io.perishable.controlplane;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.stub.MetadataUtils;
import io.perishable.proto.v1.IssueRequest;
import io.perishable.proto.v1.TokenServiceGrpc;
import io.perishable.tls.TestPki;
import io.perishable.tls.TlsFiles;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The control plane's gRPC port with {@code control_plane.tls}: real handshakes on loopback,
 * who gets in, and a rotated CA taking effect without a restart.
 */
class ControlPlaneTlsTest {
  private static final Duration RELOAD = Duration.ofMillis(50);

  @TempDir
  Path dir;

  private final List<ManagedChannel> channels = new ArrayList<>();
  private TestPki ca;
  private TlsFiles serverFiles;
  private ControlPlaneServer server;

  @BeforeEach
  void start() {
    ca = TestPki.newCa("control-plane-ca");
    serverFiles = ca.issue(dir.resolve("certs"), "control-plane", "control-plane", RELOAD);
    server = ControlPlaneServer.start(
        TestConfigs.controlPlane(dir.resolve("data")).withTls(serverFiles), Clock.systemUTC());
  }

  @AfterEach
  void stop() {
    channels.forEach(ManagedChannel::shutdownNow);
    server.close();
  }

  private ManagedChannel channel(ChannelCredentials credentials) {
    ManagedChannel channel =
        Grpc.newChannelBuilder("localhost:" + server.port(), credentials).build();
    channels.add(channel);
    return channel;
  }

  private ServingStatus health(ChannelCredentials credentials) {
    return HealthGrpc.newBlockingStub(channel(credentials))
        .withDeadlineAfter(5, TimeUnit.SECONDS)
        .check(HealthCheckRequest.getDefaultInstance()).getStatus();
  }

  private boolean served(ChannelCredentials credentials) {
    try {
      return health(credentials) == ServingStatus.SERVING;
    } catch (StatusRuntimeException refused) {
      return false;
    }
  }

  /** A client holding a certificate that {@code issuer} signed, trusting the server's CA. */
  private ChannelCredentials client(TestPki issuer, String name) throws Exception {
    TlsFiles files = issuer.issue(dir.resolve("certs"), name, name, RELOAD);
    ca.writeCa(files.trustedCa());
    return TlsChannelCredentials.newBuilder()
        .keyManager(files.certificateChain().toFile(), files.privateKey().toFile())
        .trustManager(files.trustedCa().toFile())
        .build();
  }

  /** Polls {@code condition} until it holds, failing after 10 seconds. */
  private static void eventually(BooleanSupplier condition, String what)
      throws InterruptedException {
    Instant deadline = Instant.now().plusSeconds(10);
    while (!condition.getAsBoolean()) {
      assertTrue(Instant.now().isBefore(deadline), what + " not seen within 10s");
      Thread.sleep(RELOAD.toMillis());
    }
  }

  @Test
  void clientWithCertificateFromTheCa_servedIncludingTokenService() throws Exception {
    ChannelCredentials authz = client(ca, "authz-replica");
    assertEquals(ServingStatus.SERVING, health(authz));

    Metadata headers = new Metadata();
    headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER),
        "Bearer " + TestConfigs.ISSUER_SECRET);
    String token = TokenServiceGrpc.newBlockingStub(channel(authz))
        .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers))
        .withDeadlineAfter(5, TimeUnit.SECONDS)
        .issue(IssueRequest.newBuilder().setAgentId("a").addScopes("llm:complete").build())
        .getToken();
    assertTrue(token.startsWith("prs_"));
  }

  @Test
  void plaintextClientOrClientWithoutCertificate_refused() throws Exception {
    assertThrows(StatusRuntimeException.class,
        () -> health(InsecureChannelCredentials.create()));
    ChannelCredentials noClientCert = TlsChannelCredentials.newBuilder()
        .trustManager(serverFiles.trustedCa().toFile()).build();
    assertThrows(StatusRuntimeException.class, () -> health(noClientCert));
  }

  @Test
  void clientWithCertificateFromAnotherCa_refused() throws Exception {
    ChannelCredentials intruder = client(TestPki.newCa("stranger-ca"), "intruder");
    assertThrows(StatusRuntimeException.class, () -> health(intruder));
  }

  @Test
  void rotatedTrustedCa_takesEffectWithoutRestart() throws Exception {
    TestPki next = TestPki.newCa("next-ca");
    ChannelCredentials nextClient = client(next, "next-client");
    ChannelCredentials oldClient = client(ca, "old-client");
    assertFalse(served(nextClient));
    assertTrue(served(oldClient));

    next.writeCa(serverFiles.trustedCa());

    eventually(() -> served(nextClient), "a client of the new CA admitted");
    assertFalse(served(oldClient), "a client of the old CA refused after the rotation");
  }
}
