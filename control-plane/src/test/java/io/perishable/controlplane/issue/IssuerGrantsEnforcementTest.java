package io.perishable.controlplane.issue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Duration;
import io.perishable.controlplane.MutableClock;
import io.perishable.controlplane.TestConfigs;
import io.perishable.controlplane.issuer.IssuerGrants;
import io.perishable.controlplane.keys.SigningKeyStore;
import io.perishable.controlplane.revocation.RevocationRules;
import io.perishable.controlplane.tokens.InMemoryTokenIndex;
import io.perishable.proto.v1.IssueRequest;
import io.perishable.proto.v1.IssueResponse;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link TokenIssuer} holding each principal to its issuer grant, without gRPC. */
class IssuerGrantsEnforcementTest {
  private static final String PLANNER = "k8s:system:serviceaccount:agents:planner";

  @TempDir
  Path dataDir;

  private final MutableClock clock = new MutableClock(Instant.parse("2026-11-24T12:00:00Z"));
  private TokenIssuer issuer;
  private List<IssuerGrants> grants;
  private SigningKeyStore keys;

  @BeforeEach
  void setUp() {
    grants = List.of(
        new IssuerGrants("ops", Set.of("llm:complete"), Set.of(), Set.of(), Optional.empty(),
            Optional.of(0)),
        new IssuerGrants("k8s:system:serviceaccount:agents:*", Set.of("llm:complete"),
            Set.of(), Set.of("openai"), Optional.of(java.time.Duration.ofMinutes(15)),
            Optional.of(2)));
    keys = SigningKeyStore.open(dataDir, clock);
    issuer = new TokenIssuer(new IssuancePolicy(TestConfigs.controlPlane(dataDir)), keys, clock,
        new InMemoryTokenIndex(), new RevocationRules(), grants);
  }

  private static IssueRequest.Builder root(String scope) {
    return IssueRequest.newBuilder().setAgentId("a").addScopes(scope)
        .setTtl(Duration.newBuilder().setSeconds(600));
  }

  private IssueRejectedException refused(String principal, boolean workload,
      IssueRequest request) {
    return assertThrows(IssueRejectedException.class,
        () -> issuer.mint(principal, workload, request));
  }

  @Test
  void staticIssuerWithAnEntry_heldToIt() {
    IssueRejectedException e = refused("ops", false, root("llm:embed").build());

    assertEquals(IssueRejectedException.Kind.PERMISSION_DENIED, e.kind());
    assertEquals("issuer_grant_exceeded", e.reason());
    assertEquals("not grantable by principal ops (issuer_grants entry 'ops'): scopes "
        + "[llm:embed] are not in this issuer's grant [llm:complete]", e.getMessage());
  }

  @Test
  void staticIssuerWithoutAnEntry_unlimited() {
    IssueResponse response = issuer.issue("other-team", root("llm:embed").build());
    assertEquals(List.of("llm:embed"), response.getGrant().getScopesList());
  }

  @Test
  void workloadWithoutAnEntry_mayNotIssue() {
    IssueRejectedException e = refused("k8s:system:serviceaccount:default:x", true,
        root("llm:complete").build());

    assertEquals(IssueRejectedException.Kind.PERMISSION_DENIED, e.kind());
    assertEquals("no_issuer_grant", e.reason());
  }

  @Test
  void workloadWithinItsEntry_minted_andRecordedAsTheMinter() {
    TokenIssuer.Minted minted = issuer.mint(PLANNER, true, root("llm:complete").build());
    assertEquals(PLANNER, minted.indexed().mintedBy());
  }

  @Test
  void workloadTtlOverItsCeiling_refusedNamingTheLimit() {
    IssueRejectedException e = refused(PLANNER, true, root("llm:complete")
        .setTtl(Duration.newBuilder().setSeconds(1200)).build());
    assertTrue(e.getMessage().contains("ttl 20m exceeds this issuer's max_ttl 15m"),
        e.getMessage());
  }

  @Test
  void delegationOfARootTokenWhoseMinterAllowsDepthZero_refused() {
    IssueResponse parent = issuer.issue("ops", root("llm:complete").build());

    IssueRejectedException e = assertThrows(IssueRejectedException.class,
        () -> issuer.mint(null, IssueRequest.newBuilder().setAgentId("child")
            .setParentToken(parent.getToken()).build()));

    assertEquals(IssueRejectedException.Kind.PERMISSION_DENIED, e.kind());
    assertEquals("delegation depth 1 exceeds max_delegation_depth 0 of principal ops, which "
        + "minted the root token " + parent.getTokenId(), e.getMessage());
  }

  @Test
  void delegationWhoseRootIsNotIndexed_refusedRatherThanUnchecked() {
    IssueResponse parent = issuer.issue(PLANNER, root("llm:complete").build());
    TokenIssuer forgetful = new TokenIssuer(
        new IssuancePolicy(TestConfigs.controlPlane(dataDir)), keys, clock,
        new InMemoryTokenIndex(), new RevocationRules(), grants);

    IssueRejectedException e = assertThrows(IssueRejectedException.class,
        () -> forgetful.mint(null, IssueRequest.newBuilder().setAgentId("child")
            .setParentToken(parent.getToken()).build()));

    assertTrue(e.getMessage().contains("is not in the token index"), e.getMessage());
  }
}
