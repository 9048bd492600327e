package io.perishable.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.protobuf.services.HealthStatusManager;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Real TLS handshakes on loopback: who gets in, and rotation without a restart. */
class ReloadingTlsTest {
  private static final Duration RELOAD = Duration.ofMillis(100);

  @TempDir
  Path dir;

  private final ScheduledExecutorService scheduler = Executors.newScheduledThreadPool(1);
  private final List<AutoCloseable> toClose = new ArrayList<>();
  private TestPki ca;
  private Server server;
  private TlsFiles serverFiles;

  @BeforeEach
  void start() throws Exception {
    ca = TestPki.newCa("perishable-test-ca");
    serverFiles = ca.issue(dir, "server", "authz", RELOAD);
    ReloadingTls tls = ReloadingTls.watch(serverFiles, scheduler);
    toClose.add(tls);
    server = Grpc.newServerBuilderForPort(0, tls.serverCredentials())
        .addService(new HealthStatusManager().getHealthService()).build().start();
  }

  @AfterEach
  void stop() throws Exception {
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    for (AutoCloseable c : toClose) {
      c.close();
    }
    scheduler.shutdownNow();
  }

  private ServingStatus health(ChannelCredentials credentials) {
    ManagedChannel channel =
        Grpc.newChannelBuilder("localhost:" + server.getPort(), credentials).build();
    try {
      return HealthGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS)
          .check(HealthCheckRequest.getDefaultInstance()).getStatus();
    } finally {
      channel.shutdownNow();
    }
  }

  /** A client whose certificate {@code issuer} signed, trusting the server's CA. */
  private ChannelCredentials client(TestPki issuer, String name) throws IOException {
    TlsFiles files = issuer.issue(dir, name, name, RELOAD);
    ca.writeCa(files.trustedCa());
    ReloadingTls tls = ReloadingTls.watch(files, scheduler);
    toClose.add(tls);
    return tls.channelCredentials();
  }

  private static void eventually(Supplier<Boolean> condition, String what) throws Exception {
    Instant deadline = Instant.now().plusSeconds(10);
    while (!condition.get()) {
      assertTrue(Instant.now().isBefore(deadline), what + " not seen within 10s");
      Thread.sleep(RELOAD.toMillis());
    }
  }

  private boolean served(ChannelCredentials credentials) {
    try {
      return health(credentials) == ServingStatus.SERVING;
    } catch (StatusRuntimeException refused) {
      return false;
    }
  }

  @Test
  void clientWithCertificateFromTheCa_isServed() throws Exception {
    assertEquals(ServingStatus.SERVING, health(client(ca, "envoy")));
  }

  @Test
  void clientWithoutCertificate_isRefused() throws Exception {
    assertThrows(StatusRuntimeException.class,
        () -> health(InsecureChannelCredentials.create()));
    ChannelCredentials noClientCert = TlsChannelCredentials.newBuilder()
        .trustManager(serverFiles.trustedCa().toFile()).build();
    assertThrows(StatusRuntimeException.class, () -> health(noClientCert));
  }

  @Test
  void clientWithCertificateFromAnotherCa_isRefused() throws Exception {
    assertThrows(StatusRuntimeException.class,
        () -> health(client(TestPki.newCa("stranger-ca"), "intruder")));
  }

  @Test
  void replacedTrustedCa_takesEffectWithoutRestart() throws Exception {
    TestPki next = TestPki.newCa("next-ca");
    ChannelCredentials nextClient = client(next, "rotated-client");
    ChannelCredentials oldClient = client(ca, "old-client");
    assertTrue(!served(nextClient) && served(oldClient));

    next.writeCa(serverFiles.trustedCa());

    eventually(() -> served(nextClient), "the new CA's client admitted");
    assertTrue(!served(oldClient), "the old CA's client refused after the rotation");
  }
}
