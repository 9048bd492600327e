package io.perishable.controlplane;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Duration;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.MetadataUtils;
import io.perishable.controlplane.audit.CheckpointKeys;
import io.perishable.controlplane.audit.FileAuditLog;
import io.perishable.controlplane.audit.FileAuditLogConfig;
import io.perishable.controlplane.issue.IssuancePolicy;
import io.perishable.controlplane.issue.TokenIssuer;
import io.perishable.controlplane.issue.TokenServiceEndpoint;
import io.perishable.controlplane.issuer.IssuerAuthenticator;
import io.perishable.controlplane.keys.SigningKeyStore;
import io.perishable.controlplane.journal.AuditTrail;
import io.perishable.controlplane.lookup.TokenLookup;
import io.perishable.controlplane.metrics.ControlPlaneMetrics;
import io.perishable.controlplane.revocation.RevocationRules;
import io.perishable.controlplane.revocation.Revoker;
import io.perishable.controlplane.sync.SyncHub;
import io.perishable.controlplane.tokens.InMemoryTokenIndex;
import io.perishable.controlplane.tokens.TokenIndex;
import io.perishable.proto.v1.Delta;
import io.perishable.proto.v1.GetLineageRequest;
import io.perishable.proto.v1.GetLineageResponse;
import io.perishable.proto.v1.GetTokenRequest;
import io.perishable.proto.v1.IssueRequest;
import io.perishable.proto.v1.ListTokensRequest;
import io.perishable.proto.v1.ListTokensResponse;
import io.perishable.proto.v1.RevokeRequest;
import io.perishable.proto.v1.RevokeResponse;
import io.perishable.proto.v1.TokenInfo;
import io.perishable.proto.v1.TokenState;
import io.perishable.proto.v1.IssueResponse;
import io.perishable.proto.v1.TokenClaims;
import io.perishable.proto.v1.TokenServiceGrpc;
import io.perishable.token.DecodedToken;
import io.perishable.token.TokenCodec;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** TokenService over in-process gRPC, with issuer authentication in front. */
class TokenServiceTest {
  @RegisterExtension
  final InProcessGrpc grpc = new InProcessGrpc();

  @TempDir
  Path dataDir;

  private final Clock clock = Clock.fixed(Instant.parse("2026-11-24T12:00:00Z"), ZoneOffset.UTC);
  private final List<Delta> published = new ArrayList<>();
  private SigningKeyStore keys;
  private ManagedChannel channel;
  private FileAuditLog audit;

  @BeforeEach
  void start() {
    var config = TestConfigs.controlPlane(dataDir);
    keys = SigningKeyStore.open(dataDir, clock);
    TokenIndex index = new InMemoryTokenIndex();
    RevocationRules rules = new RevocationRules();
    TokenIssuer issuer = new TokenIssuer(new IssuancePolicy(config), keys, clock, index, rules);
    Revoker revoker = new Revoker(index, rules, (delta, timeout) -> {
      published.add(delta);
      return new SyncHub.Propagation(List.of("replica-a"), List.of());
    }, clock, config.maxTtl(), config.scopes().keySet());
    audit = FileAuditLog.open(FileAuditLogConfig.defaults(dataDir.resolve("audit")),
        CheckpointKeys.open(dataDir, clock), clock);
    channel = grpc.serve(ServerInterceptors.intercept(
        new TokenServiceEndpoint(issuer, revoker, new TokenLookup(index, rules, clock),
            new AuditTrail(audit, nanos -> { }), Runnable::run, new ControlPlaneMetrics()),
        new IssuerAuthenticator(config.issuers())));
  }

  @AfterEach
  void closeAudit() {
    audit.close();
  }

  private TokenServiceGrpc.TokenServiceBlockingStub stub(String secret) {
    TokenServiceGrpc.TokenServiceBlockingStub stub = TokenServiceGrpc.newBlockingStub(channel);
    if (secret == null) {
      return stub;
    }
    Metadata headers = new Metadata();
    headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER),
        "Bearer " + secret);
    return stub.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));
  }

  private static IssueRequest request() {
    return IssueRequest.newBuilder().setAgentId("agent-1").addScopes("llm:complete")
        .addModels("gpt-4o-mini").setMaxTokensPerRequest(256)
        .setTtl(Duration.newBuilder().setSeconds(600)).putLabels("team", "search").build();
  }

  @Test
  void issue_validIssuer_returnsSignedTokenWithGrant() {
    IssueResponse response = stub(TestConfigs.ISSUER_SECRET).issue(request());

    DecodedToken decoded = TokenCodec.decode(response.getToken());
    TokenClaims claims = decoded.claims();
    assertTrue(decoded.verifiedBy(keys.current().publicKey()));
    assertEquals(response.getTokenId(), claims.getTokenId());
    assertEquals(keys.current().keyId(), claims.getKeyId());
    assertEquals(clock.millis(), claims.getIssuedAtMs());
    assertEquals(clock.millis() + 600_000, claims.getExpiresAtMs());
    assertEquals(clock.instant().plusSeconds(600).getEpochSecond(),
        response.getExpiresAt().getSeconds());
    assertEquals("agent-1", claims.getAgentId());
    assertEquals("openai", response.getGrant().getUpstream());
    assertEquals(256, claims.getMaxTokensPerRequest());
    assertEquals("search", claims.getLabelsMap().get("team"));
  }

  @Test
  void issue_noCredentials_unauthenticated() {
    StatusRuntimeException e =
        assertThrows(StatusRuntimeException.class, () -> stub(null).issue(request()));
    assertEquals(Status.Code.UNAUTHENTICATED, e.getStatus().getCode());
    assertEquals("missing issuer credentials: send 'authorization: Bearer <issuer secret>'",
        e.getStatus().getDescription());
  }

  @Test
  void issue_wrongSecret_unauthenticated() {
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
        () -> stub("pis_not-the-secret").issue(request()));
    assertEquals(Status.Code.UNAUTHENTICATED, e.getStatus().getCode());
    assertEquals("unknown issuer secret", e.getStatus().getDescription());
  }

  @Test
  void issue_ttlOverMax_invalidArgumentNamingLimit() {
    IssueRequest tooLong = request().toBuilder()
        .setTtl(Duration.newBuilder().setSeconds(2 * 3600)).build();
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
        () -> stub(TestConfigs.ISSUER_SECRET).issue(tooLong));
    assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
    assertEquals("ttl 2h exceeds max_ttl 1h", e.getStatus().getDescription());
  }

  @Test
  void issue_errorsNeverEchoTheIssuerSecret() {
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
        () -> stub("pis_leaky-secret").issue(request()));
    assertTrue(!e.getStatus().getDescription().contains("leaky"));
  }

  private IssueResponse child(String parentToken, IssueRequest.Builder request) {
    return stub(null).issue(request.setParentToken(parentToken).build());
  }

  private static IssueRequest.Builder childRequest(String agent) {
    return IssueRequest.newBuilder().setAgentId(agent);
  }

  private StatusRuntimeException failure(Runnable call) {
    return assertThrows(StatusRuntimeException.class, call::run);
  }

  @Test
  void issue_withParentTokenAndNoIssuerSecret_mintsNarrowerChildWithLineage() {
    IssueResponse parent = stub(TestConfigs.ISSUER_SECRET).issue(request());
    IssueResponse child = child(parent.getToken(), childRequest("sub-agent"));

    TokenClaims claims = TokenCodec.decode(child.getToken()).claims();
    assertEquals(List.of(parent.getTokenId()), claims.getAncestorIdsList());
    assertEquals(List.of("llm:complete"), claims.getScopesList());
    assertEquals(List.of("gpt-4o-mini"), claims.getModelsList());
    assertEquals(256, claims.getMaxTokensPerRequest());
    assertTrue(claims.getExpiresAtMs() <= TokenCodec.decode(parent.getToken()).claims()
        .getExpiresAtMs());
    TokenInfo info = stub(TestConfigs.ISSUER_SECRET)
        .getToken(GetTokenRequest.newBuilder().setTokenId(child.getTokenId()).build());
    assertEquals("token:" + parent.getTokenId(), info.getMintedBy());
  }

  @Test
  void issue_childAsksForMoreThanParent_permissionDeniedNamingEachExcess() {
    IssueResponse parent = stub(TestConfigs.ISSUER_SECRET).issue(request());
    StatusRuntimeException e = failure(() -> child(parent.getToken(), childRequest("sub")
        .addScopes("llm:embed").addModels("gpt-4o").setMaxTokensPerRequest(1000)));
    assertEquals(Status.Code.PERMISSION_DENIED, e.getStatus().getCode());
    assertEquals("the request asks for more than the parent token holds: scopes [llm:embed] "
        + "(the parent holds [llm:complete]); models [gpt-4o] (the parent may use only "
        + "[gpt-4o-mini]); max_tokens_per_request 1000 (the parent's ceiling is 256). Ask for "
        + "less, or set narrow_to_parent to receive the intersection",
        e.getStatus().getDescription());
  }

  @Test
  void issue_childWithNarrowToParent_getsTheIntersection() {
    IssueResponse parent = stub(TestConfigs.ISSUER_SECRET).issue(request());
    IssueResponse child = child(parent.getToken(), childRequest("sub").setNarrowToParent(true)
        .addScopes("llm:complete").addScopes("llm:embed").addModels("gpt-4o-mini")
        .addModels("gpt-4o").setMaxTokensPerRequest(1000)
        .setTtl(Duration.newBuilder().setSeconds(3600)));
    assertEquals(List.of("llm:complete"), child.getGrant().getScopesList());
    assertEquals(List.of("gpt-4o-mini"), child.getGrant().getModelsList());
    assertEquals(256, child.getGrant().getMaxTokensPerRequest());
    assertEquals(parent.getExpiresAt(), child.getExpiresAt());
  }

  @Test
  void issue_childBeyondMaxDelegationDepth_permissionDenied() {
    String token = stub(TestConfigs.ISSUER_SECRET).issue(request()).getToken();
    token = child(token, childRequest("depth-1")).getToken();
    String depth2 = child(token, childRequest("depth-2")).getToken();
    StatusRuntimeException e = failure(() -> child(depth2, childRequest("depth-3")));
    assertEquals(Status.Code.PERMISSION_DENIED, e.getStatus().getCode());
    assertEquals("the child token would be 3 levels below its root; "
        + "control_plane.max_delegation_depth is 2", e.getStatus().getDescription());
  }

  @Test
  void issue_forgedParent_unauthenticated() {
    String parent = stub(TestConfigs.ISSUER_SECRET).issue(request()).getToken();
    String forged = parent.substring(0, parent.length() - 4)
        + (parent.endsWith("AAAA") ? "BBBB" : "AAAA");
    StatusRuntimeException e = failure(() -> child(forged, childRequest("sub")));
    assertEquals(Status.Code.UNAUTHENTICATED, e.getStatus().getCode());
    assertTrue(e.getStatus().getDescription().startsWith("parent_token"),
        e.getStatus().getDescription());
    assertTrue(!e.getStatus().getDescription().contains(parent.substring(4, 30)));
  }

  @Test
  void issue_revokedParent_permissionDeniedWithReason() {
    IssueResponse parent = stub(TestConfigs.ISSUER_SECRET).issue(request());
    stub(TestConfigs.ISSUER_SECRET).revoke(RevokeRequest.newBuilder()
        .setTokenId(parent.getTokenId()).setReason("leaked in a log").build());
    StatusRuntimeException e = failure(() -> child(parent.getToken(), childRequest("sub")));
    assertEquals(Status.Code.PERMISSION_DENIED, e.getStatus().getCode());
    assertTrue(e.getStatus().getDescription().endsWith(": leaked in a log"),
        e.getStatus().getDescription());
  }

  @Test
  void revoke_tokenId_coversSubtreePublishesRuleAndReportsAcks() {
    IssueResponse root = stub(TestConfigs.ISSUER_SECRET).issue(request());
    IssueResponse child = child(root.getToken(), childRequest("sub"));
    child(child.getToken(), childRequest("subsub"));
    stub(TestConfigs.ISSUER_SECRET).issue(request());

    RevokeResponse response = stub(TestConfigs.ISSUER_SECRET).revoke(RevokeRequest.newBuilder()
        .setTokenId(root.getTokenId()).setReason("incident 42").build());

    assertEquals(3, response.getTokensCovered());
    assertEquals(List.of("replica-a"), response.getAckedReplicasList());
    assertEquals(1, published.size());
    assertEquals(response.getRuleId(), published.get(0).getAddedRules(0).getRuleId());
    assertEquals(root.getTokenId(), published.get(0).getAddedRules(0).getTokenId());
    TokenInfo info = stub(TestConfigs.ISSUER_SECRET)
        .getToken(GetTokenRequest.newBuilder().setTokenId(child.getTokenId()).build());
    assertEquals(TokenState.TOKEN_STATE_REVOKED, info.getState());
    assertEquals("incident 42", info.getRevocation().getReason());
  }

  @Test
  void revoke_unknownTokenId_notFound() {
    StatusRuntimeException e = failure(() -> stub(TestConfigs.ISSUER_SECRET).revoke(
        RevokeRequest.newBuilder().setTokenId("AAAAAAAAAAAAAAAAAAAAAA").build()));
    assertEquals(Status.Code.NOT_FOUND, e.getStatus().getCode());
  }

  @Test
  void revoke_noSelector_invalidArgumentSayingWhy() {
    StatusRuntimeException e = failure(() -> stub(TestConfigs.ISSUER_SECRET).revoke(
        RevokeRequest.newBuilder().setReason("oops").build()));
    assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
    assertEquals("no selector: set exactly one of token_id, agent_id, scope, issued_within",
        e.getStatus().getDescription());
  }

  @Test
  void revoke_twoSelectors_invalidArgumentNamingBoth() {
    StatusRuntimeException e = failure(() -> stub(TestConfigs.ISSUER_SECRET).revoke(
        RevokeRequest.newBuilder().setAgentId("agent-1").setScope("llm:embed").build()));
    assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
    assertTrue(e.getStatus().getDescription().startsWith(
        "contradictory selector: agent_id and scope are all set"),
        e.getStatus().getDescription());
  }

  @Test
  void revoke_withoutIssuerSecret_unauthenticated() {
    StatusRuntimeException e = failure(() -> stub(null).revoke(
        RevokeRequest.newBuilder().setAgentId("agent-1").build()));
    assertEquals(Status.Code.UNAUTHENTICATED, e.getStatus().getCode());
  }

  @Test
  void listTokens_pagesThroughAgentTokensOldestFirst() {
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      ids.add(stub(TestConfigs.ISSUER_SECRET).issue(request()).getTokenId());
    }
    stub(TestConfigs.ISSUER_SECRET).issue(request().toBuilder().setAgentId("other").build());
    List<String> seen = new ArrayList<>();
    String pageToken = "";
    int pages = 0;
    do {
      ListTokensResponse page = stub(TestConfigs.ISSUER_SECRET).listTokens(
          ListTokensRequest.newBuilder().setAgentId("agent-1").setPageSize(2)
              .setPageToken(pageToken).build());
      page.getTokensList().forEach(t -> seen.add(t.getTokenId()));
      pageToken = page.getNextPageToken();
      pages++;
    } while (!pageToken.isEmpty());
    assertEquals(3, pages);
    // Same issue time (fixed clock): ordered by token id.
    assertEquals(ids.stream().sorted().toList(), seen);
  }

  @Test
  void listTokens_stateFilter_keepsOnlyRevoked() {
    String kept = stub(TestConfigs.ISSUER_SECRET).issue(request()).getTokenId();
    String revoked = stub(TestConfigs.ISSUER_SECRET).issue(request()).getTokenId();
    stub(TestConfigs.ISSUER_SECRET).revoke(RevokeRequest.newBuilder().setTokenId(revoked)
        .build());
    ListTokensResponse page = stub(TestConfigs.ISSUER_SECRET).listTokens(ListTokensRequest
        .newBuilder().setState(TokenState.TOKEN_STATE_REVOKED).build());
    assertEquals(List.of(revoked), page.getTokensList().stream().map(TokenInfo::getTokenId)
        .toList());
    assertTrue(!kept.equals(revoked));
  }

  @Test
  void getLineage_listsAncestorsRootFirstAndDescendantsBreadthFirst() {
    IssueResponse root = stub(TestConfigs.ISSUER_SECRET).issue(request());
    IssueResponse child = child(root.getToken(), childRequest("a"));
    IssueResponse grandchild = child(child.getToken(), childRequest("b"));

    GetLineageResponse fromChild = stub(TestConfigs.ISSUER_SECRET).getLineage(
        GetLineageRequest.newBuilder().setTokenId(child.getTokenId()).build());
    assertEquals(List.of(root.getTokenId()), fromChild.getAncestorsList().stream()
        .map(TokenInfo::getTokenId).toList());
    assertEquals(List.of(grandchild.getTokenId()), fromChild.getDescendantsList().stream()
        .map(TokenInfo::getTokenId).toList());
    StatusRuntimeException e = failure(() -> stub(TestConfigs.ISSUER_SECRET).getLineage(
        GetLineageRequest.newBuilder().setTokenId("nope").build()));
    assertEquals(Status.Code.NOT_FOUND, e.getStatus().getCode());
  }
}
