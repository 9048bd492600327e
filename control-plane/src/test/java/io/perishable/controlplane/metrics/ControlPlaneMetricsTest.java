package io.perishable.controlplane.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class ControlPlaneMetricsTest {
  @Test
  void counters_andGauges_scrapedAsPrometheusText() throws Exception {
    ControlPlaneMetrics metrics = new ControlPlaneMetrics().gauges(() -> 7, () -> 3)
        .budgets(() -> 8192, () -> 1234)
        .agentBudgets(() -> 3, () -> 777);
    metrics.issued(List.of("llm:complete", "llm:embed"));
    metrics.issued(List.of("llm:complete"));
    metrics.issueRejected("INVALID_ARGUMENT");
    metrics.revoked("agent_id", Duration.ofMillis(3));
    metrics.auditAppended(2_000_000);
    metrics.auditFsynced(1_000_000);

    String text;
    try (HTTPServer server = metrics.serve("127.0.0.1", 0)) {
      HttpResponse<String> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
          URI.create("http://127.0.0.1:" + server.getPort() + "/metrics")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertEquals(200, response.statusCode());
      text = response.body();
    }

    assertTrue(text.contains("perishable_tokens_issued_total{scope=\"llm:complete\"} 2.0"), text);
    assertTrue(text.contains("perishable_tokens_issued_total{scope=\"llm:embed\"} 1.0"));
    assertTrue(text.contains("perishable_issue_rejected_total{code=\"INVALID_ARGUMENT\"} 1.0"));
    assertTrue(text.contains("perishable_revocations_total{selector=\"agent_id\"} 1.0"));
    assertTrue(text.contains("perishable_revocation_propagation_seconds_count 1"));
    assertTrue(text.contains("perishable_audit_fsync_duration_seconds_count 1"));
    assertTrue(text.contains("perishable_budget_leased_tokens 8192.0"), text);
    assertTrue(text.contains("perishable_budget_charged_tokens_total 1234.0"), text);
    assertTrue(text.contains("perishable_budget_agent_exhausted_total 3.0"), text);
    assertTrue(text.contains("perishable_budget_agent_charged_tokens_total 777.0"), text);
    assertTrue(text.contains("perishable_live_tokens 7.0"));
    assertTrue(text.contains("perishable_sync_replicas 3.0"));
    assertTrue(text.contains("jvm_threads_current"), "JVM metrics too");
  }
}
