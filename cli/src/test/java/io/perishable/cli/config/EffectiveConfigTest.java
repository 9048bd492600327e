package io.perishable.cli.config;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class EffectiveConfigTest {
  private static final String DIGEST = "ab".repeat(32);
  private static final String YAML = String.join("\n",
      "control_plane:",
      "  issuers:",
      "    - id: ops",
      "      secret_sha256: " + DIGEST,
      "scopes:",
      "  llm:complete:",
      "    methods: [POST]",
      "    paths: [/v1/chat/completions]",
      "upstreams:",
      "  openai:",
      "    provider: openai",
      "    api_key_env: OPENAI_API_KEY",
      "");

  private static String render(boolean json) {
    ConfigFile file = ConfigFile.parse(YAML, Path.of("/etc/perishable"));
    Map<String, Object> sections = new LinkedHashMap<>();
    sections.put("control_plane", file.controlPlane());
    sections.put("authz", file.authz());
    return EffectiveConfig.render(sections, json);
  }

  @Test
  void render_fillsDefaultsAndMasksIssuerDigests() {
    String yaml = render(false);
    assertTrue(yaml.contains("max_ttl: 1h"), yaml);
    assertTrue(yaml.contains("default_ttl: 15m"), yaml);
    assertTrue(yaml.contains("clock_skew: 30s"), yaml);
    assertTrue(yaml.contains("api_key_env: OPENAI_API_KEY"), yaml);
    assertTrue(yaml.contains("provider: openai"), yaml);
    assertTrue(yaml.contains("(masked)"), yaml);
    assertFalse(yaml.contains(DIGEST.substring(0, 16)), "digest shown: " + yaml);
  }

  @Test
  void render_budgetSections_withTheirNumbersAndDurations() {
    ConfigFile file = ConfigFile.parse(YAML.replace("authz:", "").replace("upstreams:",
        "upstreams:").replace("control_plane:\n", "control_plane:\n  budget:\n"
        + "    lease_ttl: 2s\n") + "authz:\n  budget:\n    default_max_tokens: 1024\n",
        Path.of("/etc/perishable"));
    Map<String, Object> sections = new LinkedHashMap<>();
    sections.put("control_plane", file.controlPlane());
    sections.put("authz", file.authz());

    String yaml = EffectiveConfig.render(sections, false);

    assertTrue(yaml.contains("lease_ttl: 2s"), yaml);
    assertTrue(yaml.contains("default_max_tokens: 1024"), yaml);
    assertTrue(yaml.contains("lease_chunk: 8192"), yaml);
    assertTrue(yaml.contains("renew_interval: 10s"), yaml);
  }

  @Test
  void render_json_isJsonAndMasked() {
    String json = render(true);
    assertTrue(json.trim().startsWith("{"), json);
    assertFalse(json.contains(DIGEST.substring(0, 16)));
  }
}
