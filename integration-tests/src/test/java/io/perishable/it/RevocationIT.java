package io.perishable.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.protobuf.Duration;
import com.google.protobuf.Timestamp;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.perishable.proto.v1.IssueRequest;
import io.perishable.proto.v1.IssueResponse;
import io.perishable.proto.v1.IssueTimeWindow;
import io.perishable.proto.v1.RevokeRequest;
import io.perishable.proto.v1.RevokeResponse;
import java.net.http.HttpResponse;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Revocation through three authz-service replicas, each behind its own real Envoy, sharing one
 * control plane: once {@code Revoke} returns, the very next request through every replica is
 * refused (401 token_revoked, with the operator's reason), with no waiting in between. Every
 * token is first shown to work through every replica, so each replica has it in its verified
 * cache: the revocation must beat the cache.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RevocationIT {
  private static final int REPLICAS = 3;

  private ReplicatedStack stack;

  @BeforeAll
  void start() throws Exception {
    stack = new ReplicatedStack(REPLICAS);
  }

  @AfterAll
  void stop() {
    if (stack != null) {
      stack.close();
    }
  }

  private static IssueRequest.Builder request(String agent, String... scopes) {
    return IssueRequest.newBuilder().setAgentId(agent).addAllScopes(List.of(scopes))
        .addModels("gpt-4o-mini").setMaxTokensPerRequest(256)
        .setTtl(Duration.newBuilder().setSeconds(600));
  }

  private IssueResponse issue(String agent, String... scopes) {
    return stack.operator().issue(request(agent, scopes).build());
  }

  /** A child minted by the agent itself: its own token, no issuer secret. */
  private IssueResponse delegate(IssueResponse parent, String agent) {
    return stack.tokens(null).issue(IssueRequest.newBuilder().setAgentId(agent)
        .setParentToken(parent.getToken()).build());
  }

  private void assertAcceptedEverywhere(IssueResponse token) {
    for (int i = 0; i < REPLICAS; i++) {
      HttpResponse<String> response = stack.chat(i, token.getToken());
      assertEquals(200, response.statusCode(), "replica-" + i + ": " + response.body());
    }
  }

  private void assertRevokedEverywhere(IssueResponse token, String reason) {
    for (int i = 0; i < REPLICAS; i++) {
      assertRevoked(i, token, reason);
    }
  }

  private void assertRevoked(int replica, IssueResponse token, String reason) {
    HttpResponse<String> response = stack.chat(replica, token.getToken());
    assertEquals(401, response.statusCode(), "replica-" + replica + ": " + response.body());
    JsonNode error = ReplicatedStack.json(response.body()).path("error");
    assertEquals("token_revoked", error.path("code").asText(), response.body());
    assertTrue(error.path("message").asText().contains(reason),
        "replica-" + replica + " names the reason: " + response.body());
  }

  private RevokeResponse revoke(RevokeRequest.Builder request) {
    RevokeResponse response = stack.operator().revoke(request.build());
    assertEquals(stack.replicaIds(), response.getAckedReplicasList().stream().sorted().toList(),
        "every replica acked before Revoke returned");
    assertEquals(List.of(), response.getUnackedReplicasList());
    return response;
  }

  private static Timestamp timestamp(long ms) {
    return Timestamp.newBuilder().setSeconds(ms / 1000).setNanos((int) (ms % 1000) * 1_000_000)
        .build();
  }

  private static long millis(Timestamp t) {
    return t.getSeconds() * 1000 + t.getNanos() / 1_000_000;
  }

  /** Polls the clock (no sleep) until it has passed {@code ms}, so issue times differ. */
  private static void clockPast(long ms) {
    ReplicatedStack.await("clock past " + ms, java.time.Duration.ofSeconds(5),
        () -> System.currentTimeMillis() > ms);
  }

  @Test
  void revokeTokenId_nextRequestThroughEveryReplicaIs401WithTheReason() {
    IssueResponse victim = issue("agent-id-rule", "llm:complete");
    IssueResponse bystander = issue("agent-id-rule", "llm:complete");
    assertAcceptedEverywhere(victim);
    assertAcceptedEverywhere(bystander);

    RevokeResponse r = revoke(RevokeRequest.newBuilder().setTokenId(victim.getTokenId())
        .setReason("leaked in CI log #1"));

    assertEquals(1, r.getTokensCovered());
    assertRevokedEverywhere(victim, "leaked in CI log #1");
    assertAcceptedEverywhere(bystander);
  }

  @Test
  void revokeParent_grandchildMintedByAgentsDiesEverywhereAndChildCannotMint() {
    IssueResponse root = issue("orchestrator", "llm:complete");
    IssueResponse child = delegate(root, "planner");
    IssueResponse grandchild = delegate(child, "coder");
    assertEquals(List.of(root.getTokenId(), child.getTokenId()),
        grandchild.getAncestorIdsList());
    assertAcceptedEverywhere(grandchild);

    RevokeResponse r = revoke(RevokeRequest.newBuilder().setTokenId(root.getTokenId())
        .setReason("orchestrator compromised"));

    assertEquals(3, r.getTokensCovered());
    assertRevokedEverywhere(grandchild, "orchestrator compromised");
    assertRevokedEverywhere(child, "orchestrator compromised");
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
        () -> delegate(child, "another-coder"));
    assertEquals(Status.Code.PERMISSION_DENIED, e.getStatus().getCode());
    assertTrue(e.getStatus().getDescription().contains("orchestrator compromised"),
        e.getStatus().getDescription());
  }

  @Test
  void revokeAgent_everyTokenOfTheAgentDiesEverywhereOthersLive() {
    IssueResponse first = issue("agent-rogue", "llm:complete");
    IssueResponse second = issue("agent-rogue", "llm:complete", "llm:embed");
    IssueResponse other = issue("agent-fine", "llm:complete");
    assertAcceptedEverywhere(first);
    assertAcceptedEverywhere(second);
    assertAcceptedEverywhere(other);

    RevokeResponse r = revoke(RevokeRequest.newBuilder().setAgentId("agent-rogue")
        .setReason("agent looping on expensive calls"));

    assertEquals(2, r.getTokensCovered());
    assertRevokedEverywhere(first, "agent looping on expensive calls");
    assertRevokedEverywhere(second, "agent looping on expensive calls");
    assertAcceptedEverywhere(other);
    // The rule covers tokens issued up to the revocation, not the agent's next credential.
    clockPast(millis(r.getRuleExpiresAt()) - 3_600_000 - 300_000);
    assertAcceptedEverywhere(issue("agent-rogue", "llm:complete"));
  }

  @Test
  void revokeScope_everyTokenGrantingItDiesEverywhere() {
    IssueResponse withEmbed = issue("agent-scope", "llm:complete", "llm:embed");
    IssueResponse withoutEmbed = issue("agent-scope", "llm:complete");
    assertAcceptedEverywhere(withEmbed);
    assertAcceptedEverywhere(withoutEmbed);

    revoke(RevokeRequest.newBuilder().setScope("llm:embed")
        .setReason("embedding vendor breach"));

    assertRevokedEverywhere(withEmbed, "embedding vendor breach");
    assertAcceptedEverywhere(withoutEmbed);
  }

  @Test
  void revokeIssueTimeWindow_tokensIssuedInsideDieEverywhereOthersLive() {
    IssueResponse before = issue("agent-window", "llm:complete");
    clockPast(millis(before.getIssuedAt()));
    IssueResponse inside1 = issue("agent-window", "llm:complete");
    IssueResponse inside2 = issue("agent-window-2", "llm:complete");
    clockPast(millis(inside2.getIssuedAt()));
    IssueResponse after = issue("agent-window", "llm:complete");
    for (IssueResponse t : List.of(before, inside1, inside2, after)) {
      assertAcceptedEverywhere(t);
    }

    revoke(RevokeRequest.newBuilder().setReason("issuer key misused between two deploys")
        .setIssuedWithin(IssueTimeWindow.newBuilder()
            .setFrom(inside1.getIssuedAt())
            .setUntil(timestamp(millis(inside2.getIssuedAt()) + 1))));

    assertRevokedEverywhere(inside1, "issuer key misused between two deploys");
    assertRevokedEverywhere(inside2, "issuer key misused between two deploys");
    assertAcceptedEverywhere(before);
    assertAcceptedEverywhere(after);
  }

  @Test
  void replicaRestartedDuringRevocations_comesBackEnforcingAllOfThem() {
    int restarted = REPLICAS - 1;
    IssueResponse revokedBeforeStop = issue("agent-restart-a", "llm:complete");
    IssueResponse revokedWhileDown = issue("agent-restart-b", "llm:complete");
    IssueResponse revokedAfterRestart = issue("agent-restart-c", "llm:complete");
    IssueResponse untouched = issue("agent-restart-d", "llm:complete");
    assertAcceptedEverywhere(revokedBeforeStop);
    assertAcceptedEverywhere(revokedWhileDown);
    assertAcceptedEverywhere(revokedAfterRestart);
    assertAcceptedEverywhere(untouched);

    revoke(RevokeRequest.newBuilder().setTokenId(revokedBeforeStop.getTokenId())
        .setReason("before the restart"));
    stack.stopReplica(restarted);
    // Only the replicas still connected are waited for; the stopped one is not among them.
    RevokeResponse whileDown = stack.operator().revoke(RevokeRequest.newBuilder()
        .setTokenId(revokedWhileDown.getTokenId()).setReason("while it was down").build());
    assertEquals(List.of("replica-0", "replica-1"),
        whileDown.getAckedReplicasList().stream().sorted().toList());
    stack.startReplica(restarted);
    revoke(RevokeRequest.newBuilder().setTokenId(revokedAfterRestart.getTokenId())
        .setReason("after the restart"));

    // Envoy reconnects to the restarted replica on demand: poll past its 503s (which let
    // nothing through), then every revocation must hold.
    ReplicatedStack.await("Envoy reaches the restarted replica", java.time.Duration
        .ofSeconds(20), () -> stack.chat(restarted, untouched.getToken()).statusCode() != 503);
    assertEquals(200, stack.chat(restarted, untouched.getToken()).statusCode());
    assertRevoked(restarted, revokedBeforeStop, "before the restart");
    assertRevoked(restarted, revokedWhileDown, "while it was down");
    assertRevoked(restarted, revokedAfterRestart, "after the restart");
    assertRevokedEverywhere(revokedWhileDown, "while it was down");
  }

  @Test
  void revoke_badSelectors_refusedSayingWhy() {
    StatusRuntimeException empty = assertThrows(StatusRuntimeException.class,
        () -> stack.operator().revoke(RevokeRequest.newBuilder().setReason("x").build()));
    assertEquals(Status.Code.INVALID_ARGUMENT, empty.getStatus().getCode());
    StatusRuntimeException unknown = assertThrows(StatusRuntimeException.class,
        () -> stack.operator().revoke(RevokeRequest.newBuilder()
            .setTokenId("AAAAAAAAAAAAAAAAAAAAAA").build()));
    assertEquals(Status.Code.NOT_FOUND, unknown.getStatus().getCode());
  }
}
