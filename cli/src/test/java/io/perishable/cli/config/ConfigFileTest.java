package io.perishable.cli.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.perishable.authz.config.AuthzConfig;
import io.perishable.authz.config.BudgetSettings;
import io.perishable.controlplane.config.ControlPlaneConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalLong;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class ConfigFileTest {
  private static final String GOOD = String.join("\n",
      "control_plane:",
      "  port: 7400",
      "  max_ttl: 30m",
      "  default_ttl: 5m",
      "  issuers:",
      "    - id: ops",
      "      secret_sha256: " + "ab".repeat(32),
      "authz:",
      "  max_staleness: 'off'",
      "scopes:",
      "  llm:complete:",
      "    methods: [post]",
      "    paths: [/v1/chat/completions]",
      "    max_ttl: 10m",
      "upstreams:",
      "  openai:",
      "    provider: openai",
      "    api_key_env: OPENAI_API_KEY",
      "");

  private static String error(String yaml, boolean controlPlane) {
    return assertThrows(IllegalArgumentException.class, () -> {
      ConfigFile file = ConfigFile.parse(yaml, Path.of("/etc/perishable"));
      if (controlPlane) {
        file.controlPlane().validate();
      } else {
        file.authz().validate();
      }
    }).getMessage();
  }

  @Test
  void goodFile_parsesBothSections() {
    ConfigFile file = ConfigFile.parse(GOOD, Path.of("/etc/perishable"));
    ControlPlaneConfig cp = file.controlPlane().validate();
    AuthzConfig az = file.authz().validate();

    assertEquals(Duration.ofMinutes(30), cp.maxTtl());
    assertEquals(Optional.of(Duration.ofMinutes(10)), cp.scopes().get("llm:complete"));
    assertEquals("openai", cp.defaultUpstream());
    assertEquals(Path.of("/etc/perishable/data/control-plane"), cp.dataDir());
    assertEquals(Optional.empty(), az.maxStaleness());
    assertEquals(java.util.Set.of("POST"), az.scopes().get(0).methods());
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "typo in a field  | max_ttl: 30m      | max_tl: 30m      | true  | control_plane.max_tl: unknown field; expected one of [audit, budget, data_dir, default_ttl, default_upstream, heartbeat_interval, host, ...",
      "bad duration     | max_ttl: 30m      | max_ttl: soon    | true  | control_plane.max_ttl: expected a duration like 30s, 15m or 1h, got 'soon'",
      "default over max | default_ttl: 5m   | default_ttl: 2h  | true  | control_plane.default_ttl: 2h exceeds max_ttl 30m",
      "port range       | port: 7400        | port: 70000      | true  | control_plane.port: must lie between 0 and 65535, got 70000",
      "bad hash         | 'secret_sha256: '  | 'secret_sha256: xyz' | true | control_plane.issuers[0]: issuer ops: secret_sha256 must be 64 hex characters (a SHA-256 digest)",
      "provider         | provider: openai  | provider: azure  | false | upstreams.openai.provider: must be openai or anthropic, got 'azure'",
      "both key sources | api_key_env: OPENAI_API_KEY | 'api_key_env: X\n    api_key_file: /k' | false | upstreams.openai: set exactly one of api_key_file, api_key_env or api_key_vault",
      "vault token      | api_key_env: OPENAI_API_KEY | 'api_key_vault: {address: \"https://vault:8200\", path: llm/openai}' | false | upstreams.openai.api_key_vault: set exactly one of token_file or token_env",
      "bad glob         | paths: [/v1/chat/completions] | paths: [v1/chat] | false | scopes.llm:complete.paths[0]: path glob 'v1/chat' must start with '/'",
  })
  void badFile_errorNamesTheFieldAndTheProblem(
      String name, String from, String to, boolean controlPlane, String expected) {
    String yaml = GOOD.replace(from, to.replace("\\n", "\n"));
    String message = error(yaml, controlPlane);
    if (expected.endsWith("...")) {
      org.junit.jupiter.api.Assertions.assertTrue(
          message.startsWith(expected.substring(0, expected.length() - 3)), message);
    } else {
      assertEquals(expected, message);
    }
  }

  @Test
  void budget_absent_defaultsUnchanged() {
    ConfigFile file = ConfigFile.parse(GOOD, Path.of("/etc/perishable"));

    assertEquals(BudgetSettings.DEFAULTS, file.authz().validate().budget());
    assertEquals(OptionalLong.empty(), file.authz().budget().defaultMaxTokens());
    assertEquals(8192, file.authz().budget().leaseChunk());
    assertEquals(Duration.ofSeconds(10), file.authz().budget().renewInterval());
    assertEquals(Duration.ofSeconds(30), file.controlPlane().validate().budget().leaseTtl());
  }

  @Test
  void exampleFile_atTheRepositoryRoot_isValid() {
    ConfigFile file = ConfigFile.load(Path.of("..", "perishable.example.yaml"));

    file.controlPlane().validate();
    AuthzConfig az = file.authz().validate();
    assertEquals(BudgetSettings.DEFAULTS, az.budget(), "the example shows the defaults");
  }

  @Test
  void budget_sectionsParsed() {
    ConfigFile file = ConfigFile.parse(GOOD
        .replace("  default_ttl: 5m", "  default_ttl: 5m\n  budget:\n    lease_ttl: 2s")
        .replace("  max_staleness: 'off'", "  max_staleness: 'off'\n  budget:\n"
            + "    default_max_tokens: 1024\n    lease_chunk: 500\n    renew_interval: 500ms"),
        Path.of("/etc/perishable"));

    assertEquals(new BudgetSettings(OptionalLong.of(1024), 500, Duration.ofMillis(500)),
        file.authz().validate().budget());
    assertEquals(Duration.ofSeconds(2), file.controlPlane().validate().budget().leaseTtl());
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "zero default     | default_max_tokens: 0     | authz.budget.default_max_tokens: must lie between 1 and 9223372036854775807, got 0",
      "zero chunk       | lease_chunk: 0            | authz.budget.lease_chunk: must lie between 1 and 9223372036854775807, got 0",
      "fast renewal     | renew_interval: 10ms      | authz.budget.renew_interval: must lie between 100ms and 5m",
      "slow renewal     | renew_interval: 6m        | authz.budget.renew_interval: must lie between 100ms and 5m",
      "typo             | lease_chunks: 5           | authz.budget.lease_chunks: unknown field; expected one of [default_max_tokens, lease_chunk, renew_interval]",
  })
  void budget_badAuthzSetting_namesTheField(String name, String setting, String expected) {
    assertEquals(expected, error(GOOD.replace("  max_staleness: 'off'",
        "  max_staleness: 'off'\n  budget:\n    " + setting), false));
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "too short | lease_ttl: 500ms | control_plane.budget.lease_ttl: must lie between 1s and 1h",
      "too long  | lease_ttl: 2h    | control_plane.budget.lease_ttl: must lie between 1s and 1h",
  })
  void budget_badLeaseTtl_namesTheField(String name, String setting, String expected) {
    assertEquals(expected, error(GOOD.replace("  default_ttl: 5m",
        "  default_ttl: 5m\n  budget:\n    " + setting), true));
  }

  @Test
  void vaultKey_parsedWithDefaults() {
    AuthzConfig az = ConfigFile.parse(GOOD.replace("api_key_env: OPENAI_API_KEY",
        "api_key_vault: {address: \"https://vault:8200\", path: llm/openai, "
            + "token_file: vault-token}"), Path.of("/etc/perishable")).authz();
    var vault = az.upstreams().get(0).apiKeyVault().orElseThrow();
    assertEquals("https://vault:8200 secret/llm/openai#api_key", vault.toString());
    assertEquals(Optional.of(Path.of("/etc/perishable/vault-token")), vault.tokenFile());
  }

  @Test
  void authzReport_parsedWithDefaults_andAbsentMeansOff() {
    ConfigFile without = ConfigFile.parse(GOOD, Path.of("/etc/perishable"));
    assertEquals(Optional.empty(), without.authzReports());

    ConfigFile with = ConfigFile.parse(GOOD.replace("  max_staleness: 'off'",
        "  max_staleness: 'off'\n  replica_id: authz-7\n  report:\n    spool_dir: spool\n"
            + "    when_spool_full: keep_serving"), Path.of("/etc/perishable"));
    var report = with.authzReports().orElseThrow();
    assertEquals(Path.of("/etc/perishable/spool"), report.spoolDirectory());
    assertEquals("authz-7", report.replicaId());
    assertEquals("KEEP_SERVING", report.whenSpoolFull().name());
  }

  @Test
  void authzMetricsHost_defaultsToHost_andCanBeTheWholePod() {
    AuthzConfig sameAsCheck = ConfigFile.parse(GOOD.replace("  max_staleness: 'off'",
        "  max_staleness: 'off'\n  host: 127.0.0.2"), Path.of("/etc/perishable")).authz();
    assertEquals("127.0.0.2", sameAsCheck.metricsHost());

    AuthzConfig apart = ConfigFile.parse(GOOD.replace("  max_staleness: 'off'",
        "  max_staleness: 'off'\n  host: 127.0.0.1\n  metrics_host: 0.0.0.0"),
        Path.of("/etc/perishable")).authz().validate();
    assertEquals("127.0.0.1", apart.host());
    assertEquals("0.0.0.0", apart.metricsHost());

    // --host moves Check; /metrics follows only when it shared Check's address.
    assertEquals("0.0.0.0", apart.withHost("10.0.0.5").metricsHost());
    assertEquals("10.0.0.5", sameAsCheck.withHost("10.0.0.5").metricsHost());
  }

  @Test
  void authzMetricsHost_empty_namesTheField() {
    assertEquals("authz.metrics_host: must not be empty", error(GOOD.replace(
        "  max_staleness: 'off'", "  max_staleness: 'off'\n  metrics_host: ''"), false));
  }

  @Test
  void authzReport_badPolicy_namesTheField() {
    String message = org.junit.jupiter.api.Assertions.assertThrows(
        IllegalArgumentException.class, () -> ConfigFile.parse(GOOD.replace(
            "  max_staleness: 'off'", "  max_staleness: 'off'\n  report:\n"
                + "    when_spool_full: maybe"), Path.of("/etc/perishable")).authzReports())
        .getMessage();
    assertEquals("authz.report.when_spool_full: must be fail_closed or keep_serving, got "
        + "'maybe'", message);
  }

  @Test
  void notYaml_saysWhere() {
    String message = error("control_plane: [unclosed", true);
    org.junit.jupiter.api.Assertions.assertTrue(message.startsWith("config is not valid YAML"),
        message);
  }
}
