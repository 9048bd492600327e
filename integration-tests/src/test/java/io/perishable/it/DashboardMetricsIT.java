package io.perishable.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.grpc.StatusRuntimeException;
import io.perishable.authz.AuthzServer;
import io.perishable.authz.config.AuthzConfig;
import io.perishable.cli.config.ConfigFile;
import io.perishable.cli.stack.EnvoyBinary;
import io.perishable.proto.v1.RevokeRequest;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Grafana dashboard (deploy/grafana/perishable.json) and the alerting rules
 * (deploy/prometheus/alerts.yaml) only name metrics that the services really export: both
 * services are scraped after real traffic, and every {@code perishable_*} name in a query must
 * be among the scraped sample names. Every dashboard query is also valid PromQL (promtool).
 */
class DashboardMetricsIT {
  private static final Path ROOT = EnvoyBinary.repoRoot();
  private static final Path DASHBOARD = ROOT.resolve("deploy/grafana/perishable.json");
  private static final Path ALERTS = ROOT.resolve("deploy/prometheus/alerts.yaml");
  private static final Pattern METRIC = Pattern.compile("\\bperishable_[a-z0-9_]+\\b");
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  @Test
  void dashboardAndAlerts_nameOnlyMetricsTheServicesExport() throws Exception {
    Set<String> exported = new TreeSet<>();
    try (Stack stack = new Stack()) {
      produceEveryMetric(stack);
      exported.addAll(sampleNames(scrape(stack.stack.authz().metricsPort())));
      exported.addAll(sampleNames(scrape(stack.stack.controlPlane().metricsPort())));
    }
    assertTrue(exported.contains("perishable_authz_decisions_total"), exported.toString());

    Set<String> missing = new TreeSet<>();
    for (String query : dashboardQueries()) {
      missing.addAll(namesIn(query, exported));
    }
    for (String query : alertQueries()) {
      missing.addAll(namesIn(query, exported));
    }
    assertEquals(Set.of(), missing, "named by the dashboard or the alerts but not exported; "
        + "exported: " + exported);
  }

  @Test
  void namesIn_findsAMetricNoServiceExports() {
    assertEquals(Set.of("perishable_authz_decisions_totl"),
        namesIn("sum(rate(perishable_authz_decisions_totl[5m]))",
            Set.of("perishable_authz_decisions_total")));
  }

  @Test
  void dashboard_everyPanelQueriesPrometheus_withValidPromQl(@TempDir Path dir)
      throws Exception {
    JsonNode dashboard = new ObjectMapper().readTree(DASHBOARD.toFile());
    assertEquals("datasource", dashboard.at("/templating/list/0/type").asText());
    Set<Integer> ids = new HashSet<>();
    List<int[]> cells = new ArrayList<>();
    int queries = 0;
    for (JsonNode panel : dashboard.path("panels")) {
      assertTrue(ids.add(panel.path("id").asInt()), "duplicate panel id " + panel.path("id"));
      JsonNode grid = panel.path("gridPos");
      int x = grid.path("x").asInt();
      int y = grid.path("y").asInt();
      int w = grid.path("w").asInt();
      int h = grid.path("h").asInt();
      assertTrue(w > 0 && h > 0 && x >= 0 && x + w <= 24, "panel outside the grid: " + panel);
      for (int[] other : cells) {
        boolean overlaps = x < other[0] + other[2] && other[0] < x + w
            && y < other[1] + other[3] && other[1] < y + h;
        assertFalse(overlaps, "panel " + panel.path("title") + " overlaps another");
      }
      cells.add(new int[] {x, y, w, h});
      if (panel.path("type").asText().equals("row")) {
        continue;
      }
      assertEquals("${datasource}", panel.at("/datasource/uid").asText(), panel.toString());
      assertFalse(panel.path("targets").isEmpty(), "panel without a query: " + panel);
      assertFalse(panel.path("description").asText().isBlank(), "undocumented: " + panel);
      queries += panel.path("targets").size();
    }

    // promtool parses every query as a recording rule's expression.
    StringBuilder rules = new StringBuilder("groups:\n  - name: dashboard\n    rules:\n");
    int n = 0;
    for (String query : dashboardQueries()) {
      String expr = query.replace("$__rate_interval", "5m");
      rules.append("      - record: dashboard_query_").append(n++).append('\n')
          .append("        expr: ").append(new ObjectMapper().writeValueAsString(expr))
          .append('\n');
    }
    assertEquals(queries, n);
    Path file = dir.resolve("dashboard-queries.yaml");
    Files.writeString(file, rules.toString());
    String out = promtool("check", "rules", file.toString());
    assertTrue(out.contains("SUCCESS: " + n + " rules found"), out);
  }

  /** In a pod, Check stays on loopback while Prometheus scrapes /metrics on the pod address. */
  @Test
  void authzMetrics_listenOnMetricsHost_apartFromCheck(@TempDir Path dir) throws Exception {
    Files.writeString(dir.resolve("openai.key"), "sk-test\n");
    Path configFile = dir.resolve("perishable.yaml");
    Files.writeString(configFile, String.join("\n",
        "authz:",
        "  host: 127.0.0.1",
        "  port: 0",
        "  metrics_host: 127.0.0.2",
        "  metrics_port: 0",
        "  control_plane: 127.0.0.1:1",
        "scopes:",
        "  llm:complete: {methods: [POST], paths: [/v1/chat/completions]}",
        "upstreams:",
        "  openai: {provider: openai, api_key_file: openai.key}",
        ""));
    AuthzConfig config = ConfigFile.load(configFile).authz().validate();

    try (AuthzServer authz = AuthzServer.start(config, Clock.systemUTC(), name -> null,
        (request, decision, nanos) -> { })) {
      String body = get("http://127.0.0.2:" + authz.metricsPort() + "/metrics").body();
      assertTrue(body.contains("perishable_authz_synced"), body);
      assertThrows(ConnectException.class,
          () -> get("http://127.0.0.1:" + authz.metricsPort() + "/metrics"));
    }
  }

  /** Traffic that gives every metric family at least one sample. */
  private static void produceEveryMetric(Stack stack) throws Exception {
    var issued = stack.issue();
    String token = issued.getToken();
    // The first Check runs on a cold JVM; on a loaded machine it can outlast Envoy's 1s
    // ext_authz timeout (503 authz_unavailable). Retry that case only, within a deadline.
    Instant warm = Instant.now().plusSeconds(30);
    HttpResponse<String> first;
    while ((first = stack.postJson("/v1/chat/completions", token,
        Stack.chat("gpt-4o-mini", 10))).statusCode() == 503 && Instant.now().isBefore(warm)) {
      Thread.sleep(100);
    }
    assertEquals(200, first.statusCode(), first.body());
    assertEquals(403, stack.postJson("/v1/chat/completions", token,
        Stack.chat("gpt-4o", 10)).statusCode());
    // An Issue refused: perishable_issue_rejected_total.
    assertThrows(StatusRuntimeException.class,
        () -> stack.tokens("pis_wrong-secret").issue(Stack.request()));
    stack.tokens(stack.stack.issuerSecret()).revoke(RevokeRequest.newBuilder()
        .setTokenId(issued.getTokenId()).setReason("dashboard test").build());
    assertEquals(401, stack.postJson("/v1/chat/completions", token,
        Stack.chat("gpt-4o-mini", 10)).statusCode());

    // A rotated provider key: perishable_authz_upstream_key_reloads_total.
    Path keyFile = stack.stack.configFile().getParent().resolve("upstream-keys/openai.key");
    Files.writeString(keyFile, "sk-fake-openai-rotated-" + System.nanoTime() + "\n");
    Instant deadline = Instant.now().plusSeconds(15);
    while (!scrape(stack.stack.authz().metricsPort())
        .contains("perishable_authz_upstream_key_reloads_total{")) {
      assertTrue(Instant.now().isBefore(deadline), "no key reload counted within 15s");
      Thread.sleep(100);
    }
  }

  /** Names in {@code query} that are not in {@code exported}. */
  static Set<String> namesIn(String query, Set<String> exported) {
    Set<String> missing = new TreeSet<>();
    Matcher m = METRIC.matcher(query);
    while (m.find()) {
      if (!exported.contains(m.group())) {
        missing.add(m.group());
      }
    }
    return missing;
  }

  /** The sample names of a text exposition ({@code _total}, {@code _bucket}, … included). */
  private static Set<String> sampleNames(String exposition) {
    Set<String> names = new TreeSet<>();
    for (String line : exposition.split("\n")) {
      if (line.isBlank() || line.startsWith("#")) {
        continue;
      }
      int end = 0;
      while (end < line.length() && line.charAt(end) != '{' && line.charAt(end) != ' ') {
        end++;
      }
      names.add(line.substring(0, end));
    }
    return names;
  }

  private static List<String> dashboardQueries() throws IOException {
    List<String> queries = new ArrayList<>();
    for (JsonNode panel : new ObjectMapper().readTree(DASHBOARD.toFile()).path("panels")) {
      for (JsonNode target : panel.path("targets")) {
        queries.add(target.path("expr").asText());
      }
    }
    assertFalse(queries.isEmpty(), "no queries in " + DASHBOARD);
    return queries;
  }

  private static List<String> alertQueries() throws IOException {
    List<String> queries = new ArrayList<>();
    JsonNode rules = new YAMLMapper().readTree(ALERTS.toFile());
    for (JsonNode group : rules.path("groups")) {
      for (JsonNode rule : group.path("rules")) {
        queries.add(rule.path("expr").asText());
      }
    }
    assertFalse(queries.isEmpty(), "no rules in " + ALERTS);
    return queries;
  }

  private static String scrape(int port) throws IOException, InterruptedException {
    return get("http://127.0.0.1:" + port + "/metrics").body();
  }

  private static HttpResponse<String> get(String url) throws IOException, InterruptedException {
    HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(URI.create(url)).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(200, response.statusCode(), url);
    return response;
  }

  private static String promtool(String... args) throws IOException, InterruptedException {
    // The installer prints promtool's path on stdout; its progress (stderr) goes to the log.
    Process install = new ProcessBuilder(ROOT.resolve("tools/install-promtool.sh").toString())
        .redirectError(ProcessBuilder.Redirect.INHERIT).start();
    String installed;
    try (InputStream in = install.getInputStream()) {
      installed = new String(in.readAllBytes(), StandardCharsets.UTF_8).strip();
    }
    assertTrue(install.waitFor(300, TimeUnit.SECONDS), "install-promtool.sh timed out");
    assertEquals(0, install.exitValue(), "install-promtool.sh failed");
    List<String> command = new ArrayList<>();
    command.add(installed.substring(installed.lastIndexOf('\n') + 1));
    command.addAll(List.of(args));
    return run(command.toArray(String[]::new));
  }

  private static String run(String... command) throws IOException, InterruptedException {
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out;
    try (InputStream in = process.getInputStream()) {
      out = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    assertTrue(process.waitFor(300, TimeUnit.SECONDS), "timed out");
    assertEquals(0, process.exitValue(), String.join(" ", command) + "\n" + out);
    return out;
  }
}
