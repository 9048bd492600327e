package io.perishable.controlplane.issue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.google.protobuf.Duration;
import io.perishable.controlplane.TestConfigs;
import io.perishable.proto.v1.IssueRequest;
import io.perishable.proto.v1.TokenClaims;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@link IssuancePolicy#decideChild}: the child's grant against its parent's, purely. */
class DelegationPolicyTest {
  private static final long NOW = 1_800_000_000_000L;

  private final IssuancePolicy policy =
      new IssuancePolicy(TestConfigs.controlPlane(Path.of("/nonexistent")));

  /** A root token: llm:complete + llm:embed, models a and b, 256 tokens, openai, 10m left. */
  private static TokenClaims.Builder parent() {
    return TokenClaims.newBuilder().setTokenId("parent-id").setAgentId("boss")
        .setIssuedAtMs(NOW - 60_000).setExpiresAtMs(NOW + 600_000)
        .addScopes("llm:complete").addScopes("llm:embed").addModels("a").addModels("b")
        .setMaxTokensPerRequest(256).setUpstream("openai");
  }

  private static IssueRequest.Builder child() {
    return IssueRequest.newBuilder().setAgentId("worker");
  }

  private IssuancePolicy.Decision decide(IssueRequest.Builder request, TokenClaims.Builder p) {
    return policy.decideChild(request.build(), p.build(), NOW);
  }

  private IssueRejectedException rejected(IssueRequest.Builder request, TokenClaims.Builder p) {
    return assertThrows(IssueRejectedException.class, () -> decide(request, p));
  }

  @Test
  void decideChild_emptyRequest_inheritsParentGrantAndCutsDefaultTtlToParentLifetime() {
    IssuancePolicy.Decision d = decide(child(), parent());
    assertEquals(List.of("llm:complete", "llm:embed"), d.grant().getScopesList());
    assertEquals(List.of("a", "b"), d.grant().getModelsList());
    assertEquals(256, d.grant().getMaxTokensPerRequest());
    assertEquals("openai", d.grant().getUpstream());
    assertEquals(java.time.Duration.ofMinutes(10), d.ttl(), "default 15m cut to the parent's 10m");
    assertEquals(List.of("parent-id"), d.ancestorIds());
  }

  @Test
  void decideChild_subsetRequest_grantedAsAsked() {
    IssuancePolicy.Decision d = decide(child().addScopes("llm:embed").addModels("b")
        .setMaxTokensPerRequest(100).setTtl(Duration.newBuilder().setSeconds(60)), parent());
    assertEquals(List.of("llm:embed"), d.grant().getScopesList());
    assertEquals(List.of("b"), d.grant().getModelsList());
    assertEquals(100, d.grant().getMaxTokensPerRequest());
    assertEquals(java.time.Duration.ofMinutes(1), d.ttl());
  }

  @Test
  void decideChild_outlivingParent_refusedUnlessNarrowed() {
    IssueRequest.Builder tooLong = child().setTtl(Duration.newBuilder().setSeconds(1200));
    IssueRejectedException e = rejected(tooLong, parent());
    assertEquals(IssueRejectedException.Kind.PERMISSION_DENIED, e.kind());
    assertEquals("the request asks for more than the parent token holds: ttl 20m (the parent "
        + "expires in 10m). Ask for less, or set narrow_to_parent to receive the intersection",
        e.getMessage());
    assertEquals(java.time.Duration.ofMinutes(10),
        decide(tooLong.setNarrowToParent(true), parent()).ttl());
  }

  @Test
  void decideChild_parentWithoutCeilings_childKeepsItsOwn() {
    IssuancePolicy.Decision d = decide(child().addModels("z").setMaxTokensPerRequest(5000),
        parent().clearModels().setMaxTokensPerRequest(0));
    assertEquals(List.of("z"), d.grant().getModelsList());
    assertEquals(5000, d.grant().getMaxTokensPerRequest());
  }

  @Test
  void decideChild_narrowWithNoCommonModel_stillRefused() {
    IssueRejectedException e = rejected(child().addModels("c").setNarrowToParent(true),
        parent());
    assertEquals("models: the parent token may use none of [c]; it may use [a, b]",
        e.getMessage());
  }

  @Test
  void decideChild_otherUpstream_refusedEvenWhenNarrowing() {
    IssueRejectedException e = rejected(child().setUpstream("anthropic")
        .setNarrowToParent(true), parent());
    assertEquals(IssueRejectedException.Kind.PERMISSION_DENIED, e.kind());
    assertEquals("upstream 'anthropic' is not the parent token's upstream 'openai'; a child "
        + "uses its parent's", e.getMessage());
  }

  @Test
  void decideChild_atMaxDepth_allowedOneBelowRefused() {
    // TestConfigs allows 2 levels: a parent with one ancestor may still have a child...
    assertEquals(List.of("root", "parent-id"),
        decide(child(), parent().addAncestorIds("root")).ancestorIds());
    // ... but a parent with two may not.
    IssueRejectedException e = rejected(child(), parent().addAncestorIds("root")
        .addAncestorIds("mid"));
    assertEquals("the child token would be 3 levels below its root; "
        + "control_plane.max_delegation_depth is 2", e.getMessage());
  }

  @Test
  void decideChild_unknownScope_invalidArgumentAsForRootTokens() {
    IssueRejectedException e = rejected(child().addScopes("llm:admin"), parent());
    assertEquals(IssueRejectedException.Kind.INVALID_ARGUMENT, e.kind());
  }

  @Test
  void decide_narrowWithoutParent_invalidArgument() {
    IssueRejectedException e = assertThrows(IssueRejectedException.class, () -> policy.decide(
        child().addScopes("llm:complete").setNarrowToParent(true).build()));
    assertEquals("narrow_to_parent needs parent_token", e.getMessage());
  }
}
