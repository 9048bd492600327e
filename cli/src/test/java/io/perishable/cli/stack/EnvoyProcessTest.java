package io.perishable.cli.stack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The shipped envoy/dev.yaml, run by a real Envoy on ephemeral loopback ports. */
class EnvoyProcessTest {
  private static final String AUTHZ_UNAVAILABLE =
      "{\"error\":{\"message\":\"authorization service unavailable\","
          + "\"type\":\"server_error\",\"code\":\"authz_unavailable\"}}";
  private static final String BODY_TOO_LARGE =
      "{\"error\":{\"message\":\"request body exceeds 8388608 bytes\","
          + "\"type\":\"invalid_request_error\",\"code\":\"body_too_large\"}}";

  private final HttpClient http =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(2))
          .build();

  @TempDir Path dir;

  private EnvoyProcess envoy;
  private int listenerPort;

  @AfterEach
  void stopEnvoy() {
    if (envoy != null) {
      envoy.close();
    }
  }

  @Test
  void start_devConfig_isReady_andCloseStopsIt() throws Exception {
    startDevEnvoyWithNothingBehindIt();

    HttpResponse<String> ready = get(envoy.adminUri().resolve("ready"));
    assertEquals(200, ready.statusCode());
    assertEquals("LIVE", ready.body().strip());

    envoy.close();

    assertFalse(envoy.isAlive());
    assertThrows(ConnectException.class, () -> get(envoy.adminUri().resolve("ready")));
  }

  @Test
  void request_whileAuthzServiceIsDown_gets503AuthzUnavailableJson() throws Exception {
    startDevEnvoyWithNothingBehindIt();

    HttpResponse<String> response =
        http.send(
            chatCompletion(HttpRequest.BodyPublishers.ofString("{\"model\":\"gpt-4o-mini\"}"))
                .header("x-perishable-upstream", "openai")
                .build(),
            HttpResponse.BodyHandlers.ofString());

    assertEquals(503, response.statusCode());
    assertEquals("application/json", response.headers().firstValue("content-type").orElse(""));
    assertEquals(AUTHZ_UNAVAILABLE, response.body());
  }

  @Test
  void request_bodyOver8MiB_gets413BodyTooLargeJson_beforeAuthzIsAsked() throws Exception {
    startDevEnvoyWithNothingBehindIt();

    HttpResponse<String> response =
        http.send(
            chatCompletion(HttpRequest.BodyPublishers.ofByteArray(new byte[8 * 1024 * 1024 + 1]))
                .build(),
            HttpResponse.BodyHandlers.ofString());

    assertEquals(413, response.statusCode());
    assertEquals("application/json", response.headers().firstValue("content-type").orElse(""));
    assertEquals(BODY_TOO_LARGE, response.body());
  }

  @Test
  void start_configEnvoyRejects_failsWithTheLogTail() throws Exception {
    Path config = dir.resolve("broken.yaml");
    Files.writeString(config, "static_resources:\n  clusters:\n    - not_an_envoy_field: 1\n");
    int adminPort = LoopbackPorts.freePort();

    EnvoyException e =
        assertThrows(
            EnvoyException.class,
            () -> EnvoyProcess.start(ShippedEnvoy.binary(), config, adminPort, dir.resolve("log")));

    assertTrue(e.getMessage().contains("exited with status"), e::getMessage);
    assertTrue(e.getMessage().contains("not_an_envoy_field"), e::getMessage);
  }

  /**
   * Starts dev.yaml with every port moved to a free ephemeral one; nothing listens on the
   * authz or upstream endpoints.
   */
  private void startDevEnvoyWithNothingBehindIt() throws IOException {
    int adminPort = LoopbackPorts.freePort();
    listenerPort = LoopbackPorts.freePort();
    int nobodyListens = LoopbackPorts.freePort();
    Path config = dir.resolve("envoy.yaml");
    EnvoyConfig.load(ShippedEnvoy.devConfig())
        .withAdminPort(adminPort)
        .withListenerPort("llm_ingress", listenerPort)
        .withClusterEndpoint("perishable_authz", "127.0.0.1", nobodyListens)
        .withClusterEndpoint("perishable_control_plane", "127.0.0.1", nobodyListens)
        .withClusterEndpoint("upstream_openai", "127.0.0.1", nobodyListens)
        .withClusterEndpoint("upstream_anthropic", "127.0.0.1", nobodyListens)
        .write(config);
    envoy = EnvoyProcess.start(ShippedEnvoy.binary(), config, adminPort, dir.resolve("envoy.log"));
  }

  private HttpRequest.Builder chatCompletion(HttpRequest.BodyPublisher body) {
    return HttpRequest.newBuilder(
            URI.create("http://127.0.0.1:" + listenerPort + "/v1/chat/completions"))
        .timeout(Duration.ofSeconds(10))
        .header("content-type", "application/json")
        .header("authorization", "Bearer prs_not.checked")
        .POST(body);
  }

  private HttpResponse<String> get(URI uri) throws IOException, InterruptedException {
    return http.send(
        HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(2)).GET().build(),
        HttpResponse.BodyHandlers.ofString());
  }
}
