package io.perishable.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.grpc.ChannelCredentials;
import io.grpc.InsecureChannelCredentials;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.perishable.cli.stack.LocalStack;
import io.perishable.tls.ReloadingTls;
import io.perishable.tls.TestPki;
import io.perishable.tls.TlsFiles;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Envoy → authz-service over mutual TLS: requests flow through real Envoy, and the Check port
 * serves nobody without a certificate from the operator's CA.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MtlsIT {
  private final ScheduledExecutorService scheduler = Executors.newScheduledThreadPool(1);
  private TestPki ca;
  private Path certs;
  private Stack stack;

  @BeforeAll
  void start() throws Exception {
    ca = TestPki.newCa("perishable-mesh-ca");
    certs = Files.createTempDirectory("perishable-mtls-");
    TlsFiles authz = ca.issue(certs, "authz", "authz", Duration.ofSeconds(1));
    TlsFiles envoy = ca.issue(certs, "envoy", "envoy", Duration.ofSeconds(1));
    stack = new Stack(options -> options.withAuthzMtls(
        new LocalStack.Mtls(authz, envoy, "localhost")));
  }

  @AfterAll
  void stop() {
    if (stack != null) {
      stack.close();
    }
    scheduler.shutdownNow();
  }

  private ServingStatus authzHealth(ChannelCredentials credentials) {
    return Stack.health("localhost:" + stack.stack.authzPort(), credentials);
  }

  @Test
  void requestThroughEnvoy_checkedOverMutualTls() {
    assertEquals(200, stack.postJson("/v1/chat/completions", stack.issue().getToken(),
        Stack.chat("gpt-4o-mini", 10)).statusCode());
    assertFalse(stack.stack.fakeLlm().lastRequest().contains("prs_"));
    assertEquals(401, stack.postJson("/v1/chat/completions", "prs_bad.bad",
        Stack.chat("gpt-4o-mini", 10)).statusCode(), "denials still come from authz");
  }

  @Test
  void checkPort_refusesPlaintextAndCertificateLessClients() throws Exception {
    assertThrows(StatusRuntimeException.class,
        () -> authzHealth(InsecureChannelCredentials.create()));
    File caFile = certs.resolve("authz.ca.crt").toFile();
    assertThrows(StatusRuntimeException.class,
        () -> authzHealth(TlsChannelCredentials.newBuilder().trustManager(caFile).build()));
  }

  @Test
  void checkPort_refusesACertificateFromAnotherCa_servesOneFromTheMeshCa() throws Exception {
    TlsFiles stranger = TestPki.newCa("stranger").issue(certs, "stranger", "x",
        Duration.ofSeconds(1));
    ca.writeCa(stranger.trustedCa());
    try (ReloadingTls tls = ReloadingTls.watch(stranger, scheduler)) {
      assertThrows(StatusRuntimeException.class, () -> authzHealth(tls.channelCredentials()));
    }
    TlsFiles friend = ca.issue(certs, "friend", "friend", Duration.ofSeconds(1));
    try (ReloadingTls tls = ReloadingTls.watch(friend, scheduler)) {
      assertEquals(ServingStatus.SERVING, authzHealth(tls.channelCredentials()));
    }
  }
}
