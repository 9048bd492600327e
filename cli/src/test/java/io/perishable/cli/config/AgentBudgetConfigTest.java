package io.perishable.cli.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.perishable.controlplane.budget.AgentBudget;
import io.perishable.controlplane.config.ControlPlaneConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code control_plane.budget.agents}: per-agent budgets per period. */
class AgentBudgetConfigTest {
  @TempDir
  Path dir;

  private static String yaml(String budget) {
    return String.join("\n",
        "control_plane:",
        "  issuers:",
        "    - id: ops",
        "      secret_sha256: " + "ab".repeat(32),
        budget,
        "scopes:",
        "  llm:complete: {methods: [POST], paths: [/v1/chat/completions]}",
        "upstreams:",
        "  openai: {provider: openai, api_key_env: OPENAI_API_KEY}",
        "");
  }

  private ControlPlaneConfig parse(String budget) {
    return ConfigFile.parse(yaml(budget), dir).controlPlane().validate();
  }

  private String error(String budget) {
    return assertThrows(IllegalArgumentException.class, () -> parse(budget)).getMessage();
  }

  @Test
  void agents_parsed_periodDefaultsToADay() {
    ControlPlaneConfig cp = parse(String.join("\n",
        "  budget:",
        "    agents:",
        "      - {agent: summarizer, tokens: 1000000, period: 24h}",
        "      - {agent: crawler, tokens: 5000}"));

    assertEquals(List.of(new AgentBudget("summarizer", 1_000_000, Duration.ofHours(24)),
        new AgentBudget("crawler", 5_000, Duration.ofDays(1))), cp.agentBudgets());
  }

  @Test
  void absent_noAgentBudgets() {
    assertEquals(List.of(), parse("").agentBudgets());
  }

  @Test
  void errors_nameTheField() {
    assertEquals("control_plane.budget.agents[0].tokens: is required",
        error("  budget: {agents: [{agent: a}]}"));
    assertEquals("control_plane.budget.agents[0].tokens: must lie between 1 and "
        + Long.MAX_VALUE + ", got 0", error("  budget: {agents: [{agent: a, tokens: 0}]}"));
    assertEquals("control_plane.budget.agents[0].agent: is required",
        error("  budget: {agents: [{tokens: 5}]}"));
    assertEquals("control_plane.budget.agents[0].period: must be at least 1m",
        error("  budget: {agents: [{agent: a, tokens: 5, period: 30s}]}"));
    assertEquals("control_plane.budget.agents[1].agent: agent 'a' already has a budget",
        error("  budget: {agents: [{agent: a, tokens: 5}, {agent: a, tokens: 6}]}"));
    assertEquals("control_plane.budget.agents[0].per: unknown field; expected one of "
        + "[agent, period, tokens]", error("  budget: {agents: [{agent: a, tokens: 5, per: 1d}]}"));
  }
}
