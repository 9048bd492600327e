package io.perishable.controlplane.issuer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

class IssuerGrantsTest {
  private final IssuerGrants agents = new IssuerGrants("k8s:system:serviceaccount:agents:*",
      Set.of("llm:complete"), Set.of("gpt-4o-mini"), Set.of("openai"),
      Optional.of(Duration.ofMinutes(15)), Optional.of(1));

  @Test
  void appliesTo_globMatchesWholePrincipal() {
    assertTrue(agents.appliesTo("k8s:system:serviceaccount:agents:planner"));
    assertFalse(agents.appliesTo("k8s:system:serviceaccount:other:planner"));
    assertFalse(agents.appliesTo("x-k8s:system:serviceaccount:agents:planner"));
    assertTrue(new IssuerGrants("*", Set.of(), Set.of(), Set.of(), Optional.empty(),
        Optional.empty()).appliesTo("anything"));
    assertFalse(new IssuerGrants("ops", Set.of(), Set.of(), Set.of(), Optional.empty(),
        Optional.empty()).appliesTo("ops2"));
  }

  @Test
  void refusals_withinGrant_none() {
    assertEquals(List.of(), agents.refusals(List.of("llm:complete"), List.of("gpt-4o-mini"),
        "openai", Duration.ofMinutes(10), 1));
  }

  @Test
  void refusals_everyExcess_namedOnce() {
    assertEquals(List.of(
        "scopes [llm:embed] are not in this issuer's grant [llm:complete]",
        "models [gpt-4o] are not in this issuer's grant [gpt-4o-mini]",
        "upstream 'anthropic' is not in this issuer's grant [openai]",
        "ttl 1h exceeds this issuer's max_ttl 15m",
        "delegation depth 2 exceeds this issuer's max_delegation_depth 1"),
        agents.refusals(List.of("llm:complete", "llm:embed"), List.of("gpt-4o"), "anthropic",
            Duration.ofHours(1), 2));
  }

  @Test
  void refusals_modelLimitedIssuerWithoutModels_mustNameThem() {
    assertEquals(List.of("this issuer may only grant models [gpt-4o-mini]; name them"),
        agents.refusals(List.of("llm:complete"), List.of(), "openai", Duration.ofMinutes(1), 0));
  }

  @Test
  void forPrincipal_firstMatchInOrder() {
    IssuerGrants ops = new IssuerGrants("ops", Set.of(), Set.of(), Set.of(), Optional.empty(),
        Optional.empty());
    assertEquals(Optional.of(ops), IssuerGrants.forPrincipal(List.of(ops, agents), "ops"));
    assertEquals(Optional.empty(), IssuerGrants.forPrincipal(List.of(ops, agents), "nobody"));
  }
}
