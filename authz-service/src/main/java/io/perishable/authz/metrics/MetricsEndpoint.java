package io.perishable.authz.metrics;

import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;

/** The HTTP {@code /metrics} endpoint for one registry. */
public final class MetricsEndpoint implements AutoCloseable {
  private final HTTPServer server;

  private MetricsEndpoint(HTTPServer server) {
    this.server = server;
  }

  /** Serves {@code registry} on {@code host:port} (0 = ephemeral). */
  public static MetricsEndpoint start(String host, int port, PrometheusRegistry registry) {
    try {
      return new MetricsEndpoint(HTTPServer.builder()
          .hostname(host)
          .port(port)
          .registry(registry)
          .buildAndStart());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot serve metrics on " + host + ":" + port, e);
    }
  }

  public int port() {
    return server.getPort();
  }

  @Override
  public void close() {
    server.close();
  }
}
