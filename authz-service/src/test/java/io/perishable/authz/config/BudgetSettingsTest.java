package io.perishable.authz.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

class BudgetSettingsTest {
  private static String error(BudgetSettings settings) {
    return assertThrows(IllegalArgumentException.class, settings::validate).getMessage();
  }

  @Test
  void defaults_validAndUnchanged() {
    BudgetSettings d = BudgetSettings.DEFAULTS.validate();
    assertEquals(OptionalLong.empty(), d.defaultMaxTokens());
    assertEquals(8192, d.leaseChunk());
    assertEquals(Duration.ofSeconds(10), d.renewInterval());
  }

  @Test
  void defaultMaxTokens_belowOne_refused() {
    assertEquals("authz.budget.default_max_tokens: must be at least 1 (leave it out to refuse "
        + "requests without max_tokens), got 0",
        error(new BudgetSettings(OptionalLong.of(0), 8192, Duration.ofSeconds(10))));
  }

  @Test
  void leaseChunk_belowOne_refused() {
    assertEquals("authz.budget.lease_chunk: must be at least 1, got 0",
        error(new BudgetSettings(OptionalLong.empty(), 0, Duration.ofSeconds(10))));
  }

  @Test
  void renewInterval_outOfRange_refused() {
    assertEquals("authz.budget.renew_interval: must lie between 100ms and 5m",
        error(new BudgetSettings(OptionalLong.empty(), 1, Duration.ofMillis(99))));
    assertEquals("authz.budget.renew_interval: must lie between 100ms and 5m",
        error(new BudgetSettings(OptionalLong.empty(), 1, Duration.ofMinutes(5).plusMillis(1))));
    new BudgetSettings(OptionalLong.of(1), 1, Duration.ofMillis(100)).validate();
  }

  @Test
  void authzConfig_validatesItsBudgetSection() {
    AuthzConfig config = new AuthzConfig("127.0.0.1", 0, "127.0.0.1:7400", "r", Duration.ZERO,
        java.util.Optional.empty(), 1024, 4, 1, java.util.List.of(), java.util.List.of());
    // scopes/upstreams are checked first; the budget section is validated by AuthzConfig too.
    assertEquals(BudgetSettings.DEFAULTS, config.budget());
    BudgetSettings bad = new BudgetSettings(OptionalLong.empty(), 0, Duration.ofSeconds(10));
    assertEquals(bad, config.withBudget(bad).withPort(1).withReplicaId("x").budget(),
        "with… methods keep the budget section");
  }
}
