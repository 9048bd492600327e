package io.perishable.controlplane;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Duration;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.MetadataUtils;
import io.perishable.controlplane.audit.AuditEventType;
import io.perishable.controlplane.audit.AuditRecord;
import io.perishable.controlplane.audit.CheckpointKeys;
import io.perishable.controlplane.audit.FileAuditLog;
import io.perishable.controlplane.audit.FileAuditLogConfig;
import io.perishable.controlplane.config.ControlPlaneConfig;
import io.perishable.controlplane.issue.IssuancePolicy;
import io.perishable.controlplane.issue.TokenIssuer;
import io.perishable.controlplane.issue.TokenServiceEndpoint;
import io.perishable.controlplane.issuer.IssuerAuthenticator;
import io.perishable.controlplane.issuer.IssuerGrants;
import io.perishable.controlplane.issuer.WorkloadIdentity;
import io.perishable.controlplane.issuer.WorkloadIdentityVerifier;
import io.perishable.controlplane.journal.AuditTrail;
import io.perishable.controlplane.keys.SigningKeyStore;
import io.perishable.controlplane.lookup.TokenLookup;
import io.perishable.controlplane.metrics.ControlPlaneMetrics;
import io.perishable.controlplane.revocation.RevocationRules;
import io.perishable.controlplane.revocation.Revoker;
import io.perishable.controlplane.sync.SyncHub;
import io.perishable.controlplane.tokens.InMemoryTokenIndex;
import io.perishable.controlplane.tokens.TokenIndex;
import io.perishable.proto.v1.IssueRequest;
import io.perishable.proto.v1.IssueResponse;
import io.perishable.proto.v1.ListTokensRequest;
import io.perishable.proto.v1.TokenServiceGrpc;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue authenticated by workload-identity JWTs (a Kubernetes-style service-account token
 * signed by a test key whose JWKS is a file) and held to per-principal issuer grants, over
 * in-process gRPC.
 */
class WorkloadIssueTest {
  private static final String CLUSTER = "https://kubernetes.default.svc";
  private static final String AUDIENCE = "perishable";
  private static final String SUMMARIZER = "system:serviceaccount:agents:summarizer";

  @RegisterExtension
  final InProcessGrpc grpc = new InProcessGrpc();

  @TempDir
  Path dataDir;

  private final MutableClock clock = new MutableClock(Instant.parse("2026-11-24T12:00:00Z"));
  private final ControlPlaneMetrics metrics = new ControlPlaneMetrics();
  private ECKey clusterKey;
  private ManagedChannel channel;
  private FileAuditLog audit;

  /** Agents may mint llm:complete for gpt-4o-mini on openai, 15m, one level of delegation. */
  private static final IssuerGrants AGENTS = new IssuerGrants(
      "k8s:system:serviceaccount:agents:*", Set.of("llm:complete"), Set.of("gpt-4o-mini"),
      Set.of("openai"), Optional.of(java.time.Duration.ofMinutes(15)), Optional.of(1));

  @BeforeEach
  void start() throws Exception {
    clusterKey = new ECKeyGenerator(Curve.P_256).keyID("cluster-1").generate();
    Path jwks = Files.writeString(dataDir.resolve("jwks.json"),
        new JWKSet(clusterKey.toPublicJWK()).toString());
    WorkloadIdentity identity = new WorkloadIdentity("k8s", CLUSTER, AUDIENCE,
        Optional.of(jwks), Optional.empty(), java.time.Duration.ofSeconds(30));
    ControlPlaneConfig config = TestConfigs.controlPlane(dataDir)
        .withIssuerIdentity(Optional.of(identity), List.of(AGENTS)).validate();
    channel = serve(config, Optional.of(new WorkloadIdentityVerifier(identity, clock)));
  }

  private ManagedChannel serve(ControlPlaneConfig config,
      Optional<WorkloadIdentityVerifier> workloads) {
    if (audit != null) {
      audit.close();
    }
    SigningKeyStore keys = SigningKeyStore.open(config.dataDir(), clock);
    TokenIndex index = new InMemoryTokenIndex();
    RevocationRules rules = new RevocationRules();
    TokenIssuer issuer = new TokenIssuer(new IssuancePolicy(config), keys, clock, index, rules,
        config.issuerGrants());
    Revoker revoker = new Revoker(index, rules,
        (delta, timeout) -> new SyncHub.Propagation(List.of(), List.of()), clock,
        config.maxTtl(), config.scopes().keySet());
    audit = FileAuditLog.open(FileAuditLogConfig.defaults(config.dataDir().resolve("audit")),
        CheckpointKeys.open(config.dataDir(), clock), clock);
    return grpc.serve(ServerInterceptors.intercept(
        new TokenServiceEndpoint(issuer, revoker, new TokenLookup(index, rules, clock),
            new AuditTrail(audit, nanos -> { }), Runnable::run, metrics),
        new IssuerAuthenticator(config.issuers(), workloads, metrics::issuerRejected)));
  }

  @AfterEach
  void closeAudit() {
    audit.close();
  }

  private JWTClaimsSet.Builder serviceAccount(String subject) {
    Instant now = clock.instant();
    return new JWTClaimsSet.Builder().issuer(CLUSTER).audience(AUDIENCE).subject(subject)
        .issueTime(Date.from(now)).expirationTime(Date.from(now.plusSeconds(600)));
  }

  private static String sign(ECKey key, JWTClaimsSet claims) throws Exception {
    SignedJWT jwt = new SignedJWT(
        new JWSHeader.Builder(JWSAlgorithm.ES256).keyID(key.getKeyID()).build(), claims);
    jwt.sign(new ECDSASigner(key));
    return jwt.serialize();
  }

  private TokenServiceGrpc.TokenServiceBlockingStub as(String bearer) {
    Metadata headers = new Metadata();
    headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER),
        "Bearer " + bearer);
    return TokenServiceGrpc.newBlockingStub(channel)
        .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));
  }

  private static IssueRequest.Builder request() {
    return IssueRequest.newBuilder().setAgentId("summarizer-1").addScopes("llm:complete")
        .addModels("gpt-4o-mini").setUpstream("openai")
        .setTtl(Duration.newBuilder().setSeconds(600));
  }

  private Status refusal(String bearer, IssueRequest request) {
    return assertThrows(StatusRuntimeException.class, () -> as(bearer).issue(request))
        .getStatus();
  }

  private double rejected(String reason) {
    for (MetricSnapshot snapshot : metrics.registry().scrape()) {
      if (snapshot instanceof CounterSnapshot counter
          && counter.getMetadata().getName().equals("perishable_issuer_rejected")) {
        for (CounterSnapshot.CounterDataPointSnapshot point : counter.getDataPoints()) {
          if (reason.equals(point.getLabels().get("reason"))) {
            return point.getValue();
          }
        }
      }
    }
    return 0;
  }

  private List<AuditRecord> issuedRecords() {
    List<AuditRecord> out = new ArrayList<>();
    try (var records = audit.readFrom(1)) {
      while (records.hasNext()) {
        AuditRecord record = records.next();
        if (record.type() == AuditEventType.ISSUED) {
          out.add(record);
        }
      }
    }
    return out;
  }

  @Test
  void issue_serviceAccountJwtWithinGrant_issuedAndAuditNamesThePrincipal() throws Exception {
    IssueResponse response = as(sign(clusterKey, serviceAccount(SUMMARIZER).build()))
        .issue(request().build());

    assertEquals(List.of("llm:complete"), response.getGrant().getScopesList());
    List<AuditRecord> issued = issuedRecords();
    assertEquals(1, issued.size());
    assertEquals("k8s:" + SUMMARIZER, AuditTrail.mintedByOf(issued.get(0)));
  }

  @Test
  void issue_scopeOutsideThePrincipalsGrant_permissionDeniedNamingScopeAndPrincipal()
      throws Exception {
    Status status = refusal(sign(clusterKey, serviceAccount(SUMMARIZER).build()),
        request().addScopes("llm:embed").build());

    assertEquals(Status.Code.PERMISSION_DENIED, status.getCode());
    assertTrue(status.getDescription().contains("not grantable by principal k8s:" + SUMMARIZER),
        status.getDescription());
    assertTrue(status.getDescription().contains("scopes [llm:embed]"), status.getDescription());
    assertEquals(1.0, rejected("issuer_grant_exceeded"));
  }

  @Test
  void issue_eachCeilingOfTheGrant_enforced() throws Exception {
    String jwt = sign(clusterKey, serviceAccount(SUMMARIZER).build());
    assertTrue(refusal(jwt, request().clearModels().addModels("gpt-4o").build())
        .getDescription().contains("models [gpt-4o]"));
    assertTrue(refusal(jwt, request().setUpstream("anthropic").build())
        .getDescription().contains("upstream 'anthropic'"));
    assertTrue(refusal(jwt, request().setTtl(Duration.newBuilder().setSeconds(1800)).build())
        .getDescription().contains("ttl 30m exceeds this issuer's max_ttl 15m"));
    assertTrue(refusal(jwt, request().clearModels().build())
        .getDescription().contains("may only grant models [gpt-4o-mini]"));
  }

  @Test
  void delegation_belowTheRootPrincipalsMaxDepth_refused() throws Exception {
    IssueResponse root = as(sign(clusterKey, serviceAccount(SUMMARIZER).build()))
        .issue(request().build());
    TokenServiceGrpc.TokenServiceBlockingStub anonymous = TokenServiceGrpc.newBlockingStub(
        channel);
    IssueResponse child = anonymous.issue(IssueRequest.newBuilder().setAgentId("sub-1")
        .setParentToken(root.getToken()).build());
    assertEquals(1, child.getAncestorIdsCount());

    Status status = assertThrows(StatusRuntimeException.class, () -> anonymous.issue(
        IssueRequest.newBuilder().setAgentId("sub-2").setParentToken(child.getToken()).build()))
        .getStatus();

    assertEquals(Status.Code.PERMISSION_DENIED, status.getCode());
    assertTrue(status.getDescription().contains("delegation depth 2 exceeds "
        + "max_delegation_depth 1 of principal k8s:" + SUMMARIZER), status.getDescription());
  }

  @Test
  void issue_principalWithoutGrant_permissionDenied() throws Exception {
    Status status = refusal(sign(clusterKey,
        serviceAccount("system:serviceaccount:default:builder").build()), request().build());

    assertEquals(Status.Code.PERMISSION_DENIED, status.getCode());
    assertTrue(status.getDescription().contains(
        "principal k8s:system:serviceaccount:default:builder matches no "
            + "control_plane.issuer_grants entry"), status.getDescription());
    assertEquals(1.0, rejected("no_issuer_grant"));
  }

  @Test
  void issue_badJwts_unauthenticatedWithoutEchoingTheToken() throws Exception {
    ECKey stranger = new ECKeyGenerator(Curve.P_256).keyID("cluster-1").generate();
    Instant past = clock.instant().minusSeconds(3600);
    List<String> bad = List.of(
        sign(stranger, serviceAccount(SUMMARIZER).build()),
        sign(clusterKey, serviceAccount(SUMMARIZER).audience("vault").build()),
        sign(clusterKey, serviceAccount(SUMMARIZER).issuer("https://evil.example").build()),
        sign(clusterKey, serviceAccount(SUMMARIZER).expirationTime(Date.from(past)).build()),
        "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.");
    for (String jwt : bad) {
      Status status = refusal(jwt, request().build());
      assertEquals(Status.Code.UNAUTHENTICATED, status.getCode(), jwt);
      assertTrue(status.getDescription().startsWith("identity token refused: "),
          status.getDescription());
      assertFalse(status.getDescription().contains(jwt), "the token is never echoed");
      for (String part : jwt.split("\\.")) {
        assertTrue(part.isEmpty() || !status.getDescription().contains(part),
            "no part of the token is echoed");
      }
    }
    assertEquals(bad.size(), rejected("identity_token_invalid"));
  }

  @Test
  void issue_jwtExpiredOnTheControlPlanesClock_unauthenticated() throws Exception {
    String jwt = sign(clusterKey, serviceAccount(SUMMARIZER).build());
    as(jwt).issue(request().build());

    clock.advance(java.time.Duration.ofSeconds(600 + 31));

    Status status = refusal(jwt, request().build());
    assertEquals(Status.Code.UNAUTHENTICATED, status.getCode());
    assertTrue(status.getDescription().contains("Expired JWT"), status.getDescription());
  }

  @Test
  void workloadPrincipal_otherMethods_permissionDenied() throws Exception {
    String jwt = sign(clusterKey, serviceAccount(SUMMARIZER).build());

    Status status = assertThrows(StatusRuntimeException.class,
        () -> as(jwt).listTokens(ListTokensRequest.getDefaultInstance())).getStatus();

    assertEquals(Status.Code.PERMISSION_DENIED, status.getCode());
    assertTrue(status.getDescription().contains("may only call TokenService/Issue"),
        status.getDescription());
    assertEquals(1.0, rejected("workload_method_not_allowed"));
  }

  @Test
  void staticIssuerWithoutGrantEntry_stillUnlimited() {
    IssueResponse response = as(TestConfigs.ISSUER_SECRET).issue(request().addScopes("llm:embed")
        .setUpstream("anthropic").clearModels().build());
    assertEquals(List.of("llm:complete", "llm:embed"), response.getGrant().getScopesList());
  }

  @Test
  void jwtWithoutWorkloadIdentityConfigured_unauthenticated() throws Exception {
    channel = serve(TestConfigs.controlPlane(dataDir.resolve("plain")), Optional.empty());

    Status status = refusal(sign(clusterKey, serviceAccount(SUMMARIZER).build()),
        request().build());

    assertEquals(Status.Code.UNAUTHENTICATED, status.getCode());
    assertTrue(status.getDescription().contains("control_plane.workload_identity is not "
        + "configured"), status.getDescription());
  }
}
