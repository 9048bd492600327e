package io.perishable.cli.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.perishable.controlplane.config.ControlPlaneConfig;
import io.perishable.controlplane.issuer.IssuerGrants;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code control_plane.tls}, {@code .workload_identity} and {@code .issuer_grants}. */
class ControlPlaneSecurityConfigTest {
  private static final String DIGEST = "ab".repeat(32);

  @TempDir
  Path dir;

  @BeforeEach
  void pemFiles() throws Exception {
    for (String name : new String[] {"cp.crt", "cp.key", "ca.crt", "jwks.json"}) {
      Files.writeString(dir.resolve(name), "placeholder");
    }
  }

  private static String yaml(String controlPlaneExtra) {
    return String.join("\n",
        "control_plane:",
        "  max_ttl: 1h",
        "  issuers:",
        "    - id: ops",
        "      secret_sha256: " + DIGEST,
        controlPlaneExtra,
        "scopes:",
        "  llm:complete: {methods: [POST], paths: [/v1/chat/completions]}",
        "  llm:embed: {methods: [POST], paths: [/v1/embeddings]}",
        "upstreams:",
        "  openai: {provider: openai, api_key_env: OPENAI_API_KEY}",
        "");
  }

  private static final String WORKLOADS = String.join("\n",
      "  workload_identity:",
      "    name: k8s",
      "    issuer: https://kubernetes.default.svc",
      "    audience: perishable",
      "    jwks_file: jwks.json",
      "  issuer_grants:",
      "    - principal: 'k8s:system:serviceaccount:agents:*'",
      "      scopes: [llm:complete]",
      "      models: [gpt-4o-mini]",
      "      upstreams: [openai]",
      "      max_ttl: 15m",
      "      max_delegation_depth: 1");

  private ControlPlaneConfig parse(String extra) {
    return ConfigFile.parse(yaml(extra), dir).controlPlane().validate();
  }

  private String error(String extra) {
    return assertThrows(IllegalArgumentException.class, () -> parse(extra)).getMessage();
  }

  @Test
  void fullSections_parsed() {
    ControlPlaneConfig cp = parse(String.join("\n",
        "  tls: {cert_file: cp.crt, key_file: cp.key, ca_file: ca.crt, reload_interval: 5s}",
        WORKLOADS));

    assertEquals(dir.resolve("cp.crt"), cp.tls().orElseThrow().certificateChain());
    assertEquals(Duration.ofSeconds(5), cp.tls().orElseThrow().reloadInterval());
    assertEquals("https://kubernetes.default.svc", cp.workloadIdentity().orElseThrow().issuer());
    assertEquals(Optional.of(dir.resolve("jwks.json")),
        cp.workloadIdentity().orElseThrow().jwksFile());
    assertEquals(Duration.ofSeconds(30), cp.workloadIdentity().orElseThrow().clockSkew());
    IssuerGrants grant = cp.issuerGrants().get(0);
    assertEquals(Set.of("llm:complete"), grant.scopes());
    assertEquals(Optional.of(Duration.ofMinutes(15)), grant.maxTtl());
    assertEquals(Optional.of(1), grant.maxDelegationDepth());
  }

  @Test
  void absentSections_off() {
    ControlPlaneConfig cp = parse("");
    assertEquals(Optional.empty(), cp.tls());
    assertEquals(Optional.empty(), cp.workloadIdentity());
    assertEquals(0, cp.issuerGrants().size());
  }

  @Test
  void workloadIdentityAlone_needsNoIssuerSecrets() {
    String noIssuers = yaml(WORKLOADS).replace("  issuers:\n    - id: ops\n      secret_sha256: "
        + DIGEST + "\n", "");
    ControlPlaneConfig cp = ConfigFile.parse(noIssuers, dir).controlPlane().validate();
    assertEquals(0, cp.issuers().size());
  }

  @Test
  void errors_nameTheField() {
    assertEquals("control_plane.issuer_grants[0].scopes: unknown scope 'llm:chat'; known "
        + "scopes: [llm:complete, llm:embed]",
        error(WORKLOADS.replace("scopes: [llm:complete]", "scopes: [llm:chat]")));
    assertEquals("control_plane.issuer_grants[0].upstreams: unknown upstream 'azure'; known "
        + "upstreams: [openai]",
        error(WORKLOADS.replace("upstreams: [openai]", "upstreams: [azure]")));
    assertEquals("control_plane.issuer_grants[0].max_ttl: must lie between 1s and "
        + "control_plane.max_ttl 1h", error(WORKLOADS.replace("max_ttl: 15m", "max_ttl: 2h")));
    assertEquals("control_plane.issuer_grants[0].max_delegation_depth: must lie between 0 and "
        + "control_plane.max_delegation_depth 4, got 9",
        error(WORKLOADS.replace("max_delegation_depth: 1", "max_delegation_depth: 9")));
    assertEquals("control_plane.issuer_grants[0].principal: is required",
        error(WORKLOADS.replace("- principal: 'k8s:system:serviceaccount:agents:*'\n"
            + "      scopes", "- scopes")));
    assertEquals("control_plane.workload_identity.audience: is required",
        error(WORKLOADS.replace("    audience: perishable\n", "")));
    assertEquals("control_plane.workload_identity: set exactly one of jwks_file or jwks_url",
        error(WORKLOADS.replace("jwks_file: jwks.json",
            "jwks_file: jwks.json\n    jwks_url: https://cluster/openid/v1/jwks")));
    assertEquals("control_plane.workload_identity.jwks_url: must be an http(s) URL",
        error(WORKLOADS.replace("jwks_file: jwks.json", "jwks_url: file:///etc/jwks")));
    assertEquals("control_plane.issuer_grants: workload_identity is set but no principal has "
        + "a grant, so no workload could issue",
        error(WORKLOADS.substring(0, WORKLOADS.indexOf("  issuer_grants:"))));
    assertTrue(error("  tls: {cert_file: missing.crt, key_file: cp.key, ca_file: ca.crt}")
        .startsWith("control_plane.tls: cert_file: cannot read "));
  }

  @Test
  void effectiveConfig_showsTheSectionsAndMasksSecrets() {
    ControlPlaneConfig cp = parse(String.join("\n",
        "  tls: {cert_file: cp.crt, key_file: cp.key, ca_file: ca.crt}", WORKLOADS));
    Map<String, Object> sections = new LinkedHashMap<>();
    sections.put("control_plane", cp);

    String text = EffectiveConfig.render(sections, false);

    assertTrue(text.contains("audience: perishable"), text);
    assertTrue(text.contains("principal_pattern: k8s:system:serviceaccount:agents:*"), text);
    assertTrue(text.contains("private_key: (masked)"), text);
    assertFalse(text.contains(DIGEST), text);
  }
}
