package io.perishable.authz.revocation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.perishable.authz.token.VerifiedToken;
import io.perishable.proto.v1.RevocationRule;
import io.perishable.proto.v1.TimeWindow;
import io.perishable.proto.v1.TokenClaims;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Which rules refuse which tokens: one selector per case, with and without issued_before. */
class RevocationSetTest {
  private static final long T = 1_800_000_000_000L;

  /** agent-1's token issued at T, child of root-id, scopes llm:complete and llm:embed. */
  private static VerifiedToken token() {
    return VerifiedToken.of(TokenClaims.newBuilder().setTokenId("tok-id").setAgentId("agent-1")
        .setIssuedAtMs(T).setExpiresAtMs(T + 600_000).addAncestorIds("root-id")
        .addAncestorIds("parent-id").addScopes("llm:complete").addScopes("llm:embed").build());
  }

  private static RevocationRule.Builder rule() {
    return RevocationRule.newBuilder().setRuleId("rvk").setReason("r")
        .setExpiresAtMs(T + 3_600_000);
  }

  private static TimeWindow window(long from, long until) {
    return TimeWindow.newBuilder().setFromMs(from).setUntilMs(until).build();
  }

  static Stream<Arguments> rules() {
    return Stream.of(
        Arguments.of("its own id", rule().setTokenId("tok-id"), true),
        Arguments.of("its root's id", rule().setTokenId("root-id"), true),
        Arguments.of("its parent's id", rule().setTokenId("parent-id"), true),
        Arguments.of("another id", rule().setTokenId("other-id"), false),
        Arguments.of("its agent", rule().setAgentId("agent-1"), true),
        Arguments.of("another agent", rule().setAgentId("agent-2"), false),
        Arguments.of("its agent, issued before T+1", rule().setAgentId("agent-1")
            .setIssuedBeforeMs(T + 1), true),
        Arguments.of("its agent, issued before T", rule().setAgentId("agent-1")
            .setIssuedBeforeMs(T), false),
        Arguments.of("its second scope", rule().setScope("llm:embed"), true),
        Arguments.of("a scope it lacks", rule().setScope("llm:models"), false),
        Arguments.of("window containing T", rule().setIssuedWithin(window(T - 10, T + 1)), true),
        Arguments.of("window starting at T", rule().setIssuedWithin(window(T, T + 1)), true),
        Arguments.of("window ending at T", rule().setIssuedWithin(window(T - 10, T)), false),
        Arguments.of("window containing T, issued before T", rule()
            .setIssuedWithin(window(T - 10, T + 10)).setIssuedBeforeMs(T), false),
        Arguments.of("no selector", rule(), false));
  }

  @ParameterizedTest(name = "{0} -> revoked: {2}")
  @MethodSource("rules")
  void match_bySelector(String name, RevocationRule.Builder rule, boolean revoked) {
    RevocationSet set = new RevocationSet();
    set.addAll(List.of(rule.build()));
    assertEquals(revoked, set.match(token()).isPresent());
  }

  @Test
  void match_empty_nothingRevoked() {
    assertEquals(Optional.empty(), new RevocationSet().match(token()));
  }

  @Test
  void replaceAll_snapshotDropsRulesItLacks() {
    RevocationSet set = new RevocationSet();
    set.addAll(List.of(rule().setRuleId("a").setAgentId("agent-1").build()));
    set.replaceAll(List.of(rule().setRuleId("b").setAgentId("agent-2").build()));
    assertTrue(set.match(token()).isEmpty());
    assertEquals(1, set.size());
  }

  @Test
  void addAll_sameRuleTwice_keptOnce() {
    RevocationSet set = new RevocationSet();
    RevocationRule r = rule().setAgentId("agent-1").build();
    set.replaceAll(List.of(r));
    set.addAll(List.of(r));
    assertEquals(1, set.size());
    assertEquals("rvk", set.match(token()).orElseThrow().getRuleId());
  }

  @Test
  void dropExpired_forgetsOnlyRulesPastTheirExpiry() {
    RevocationSet set = new RevocationSet();
    set.addAll(List.of(rule().setRuleId("old").setAgentId("agent-9").setExpiresAtMs(T).build(),
        rule().setRuleId("live").setAgentId("agent-1").setExpiresAtMs(T + 10).build()));
    assertEquals(1, set.dropExpired(T + 1));
    assertEquals("live", set.match(token()).orElseThrow().getRuleId());
  }
}
