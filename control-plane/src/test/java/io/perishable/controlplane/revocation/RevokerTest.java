package io.perishable.controlplane.revocation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Timestamp;
import io.perishable.controlplane.sync.SyncHub;
import io.perishable.controlplane.tokens.InMemoryTokenIndex;
import io.perishable.controlplane.tokens.IndexedToken;
import io.perishable.proto.v1.IssueTimeWindow;
import io.perishable.proto.v1.RevocationRule;
import io.perishable.proto.v1.RevokeRequest;
import io.perishable.proto.v1.TokenClaims;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Revoke requests turned into rules: bounds, lifetimes and refusals, on a fixed clock. */
class RevokerTest {
  private static final long NOW = Instant.parse("2026-11-24T12:00:00Z").toEpochMilli();
  private static final long HOUR = 3_600_000;
  private static final long MARGIN = Revoker.SKEW_MARGIN.toMillis();

  private final InMemoryTokenIndex index = new InMemoryTokenIndex();
  private final RevocationRules rules = new RevocationRules();
  private final Revoker revoker = new Revoker(index, rules,
      (delta, timeout) -> new SyncHub.Propagation(List.of(), List.of()),
      Clock.fixed(Instant.ofEpochMilli(NOW), ZoneOffset.UTC), Duration.ofHours(1),
      Set.of("llm:complete", "llm:embed"));

  private static Timestamp at(long ms) {
    return Timestamp.newBuilder().setSeconds(ms / 1000).setNanos((int) (ms % 1000) * 1_000_000)
        .build();
  }

  private RevocationRule rule(RevokeRequest.Builder request) {
    return revoker.rule(request.build(), NOW);
  }

  private String refusal(RevokeRequest.Builder request) {
    return assertThrows(RevokeRejectedException.class, () -> rule(request)).getMessage();
  }

  private void index(String id, String agent, long issuedAt, long expiresAt, String... ancestors) {
    index.add(new IndexedToken(TokenClaims.newBuilder().setTokenId(id).setAgentId(agent)
        .setIssuedAtMs(issuedAt).setExpiresAtMs(expiresAt).addScopes("llm:complete")
        .addAllAncestorIds(List.of(ancestors)).build(), "ops"));
  }

  @Test
  void agentRule_coversTokensIssuedUpToNowAndLivesMaxTtlPlusMarginAfter() {
    RevocationRule r = rule(RevokeRequest.newBuilder().setAgentId("a").setReason("why"));
    assertEquals(NOW + 1, r.getIssuedBeforeMs());
    assertEquals(NOW + 1 + HOUR + MARGIN, r.getExpiresAtMs());
    assertEquals("why", r.getReason());
  }

  @Test
  void agentRule_earlierIssuedBefore_boundsRuleAndItsLifetime() {
    RevocationRule r = rule(RevokeRequest.newBuilder().setAgentId("a")
        .setIssuedBefore(at(NOW - HOUR)));
    assertEquals(NOW - HOUR, r.getIssuedBeforeMs());
    assertEquals(NOW + MARGIN, r.getExpiresAtMs());
  }

  @Test
  void tokenIdRule_livesAsLongAsTheTokenPlusMarginAndCountsItsLiveSubtree() {
    index("root", "a", NOW - 1000, NOW + 600_000);
    index("child", "b", NOW - 500, NOW + 300_000, "root");
    index("expired-child", "c", NOW - HOUR, NOW - 1, "root");
    index("stranger", "a", NOW - 1000, NOW + 600_000);

    Revoker.Outcome outcome = revoker.revoke("ops",
        RevokeRequest.newBuilder().setTokenId("root").build(), Optional.empty());

    assertEquals(NOW + 600_000 + MARGIN, outcome.rule().getExpiresAtMs());
    assertEquals(0, outcome.rule().getIssuedBeforeMs(), "descendants minted later die too");
    assertEquals(2, outcome.tokensCovered(), "root and its live child");
    assertEquals(List.of(outcome.rule()), rules.live(NOW));
  }

  @Test
  void windowRule_untilDefaultsToNowAndRuleLivesFromUntil() {
    RevocationRule r = rule(RevokeRequest.newBuilder().setIssuedWithin(
        IssueTimeWindow.newBuilder().setFrom(at(NOW - 10_000))));
    assertEquals(NOW - 10_000, r.getIssuedWithin().getFromMs());
    assertEquals(NOW + 1, r.getIssuedWithin().getUntilMs());
    assertEquals(NOW + 1 + HOUR + MARGIN, r.getExpiresAtMs());
  }

  @Test
  void rules_droppedOnceNoMatchingTokenCanBeAlive() {
    RevocationRule r = rule(RevokeRequest.newBuilder().setScope("llm:embed"));
    rules.add(r);
    assertEquals(1, rules.live(r.getExpiresAtMs() - 1).size());
    assertEquals(0, rules.live(r.getExpiresAtMs()).size());
  }

  @Test
  void refusals_sayWhatIsWrong() {
    assertEquals("issued_within is empty: from 2026-11-24T12:00:00Z is not before until "
        + "2026-11-24T11:00:00Z", refusal(RevokeRequest.newBuilder().setIssuedWithin(
            IssueTimeWindow.newBuilder().setFrom(at(NOW)).setUntil(at(NOW - HOUR)))));
    assertTrue(refusal(RevokeRequest.newBuilder().setAgentId("a")
        .setIssuedBefore(at(NOW + 60_000))).startsWith("issued_before 2026-11-24T12:01:00Z "
            + "lies in the future"));
    assertTrue(refusal(RevokeRequest.newBuilder().setIssuedWithin(IssueTimeWindow.newBuilder()
        .setFrom(at(NOW - 1000)).setUntil(at(NOW + 60_000)))).startsWith(
            "issued_within.until 2026-11-24T12:01:00Z lies in the future"));
    assertEquals("contradictory selector: issued_before 2026-11-24T10:00:00Z is not after "
        + "issued_within.from 2026-11-24T11:00:00Z, so nothing could match",
        refusal(RevokeRequest.newBuilder().setIssuedBefore(at(NOW - 2 * HOUR))
            .setIssuedWithin(IssueTimeWindow.newBuilder().setFrom(at(NOW - HOUR)))));
    assertEquals("scope: unknown scope 'llm:admn'; known scopes: llm:complete, llm:embed",
        refusal(RevokeRequest.newBuilder().setScope("llm:admn")));
    assertEquals("reason must be at most 256 printable ASCII characters",
        refusal(RevokeRequest.newBuilder().setAgentId("a").setReason("line\nbreak")));
    assertTrue(refusal(RevokeRequest.newBuilder().setTokenId("nope"))
        .startsWith("token_id 'nope' is not a token this control plane knows"));
  }
}
