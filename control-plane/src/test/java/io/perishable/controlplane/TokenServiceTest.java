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
import io.perishable.controlplane.issue.IssuancePolicy;
import io.perishable.controlplane.issue.TokenIssuer;
import io.perishable.controlplane.issue.TokenServiceEndpoint;
import io.perishable.controlplane.issuer.IssuerAuthenticator;
import io.perishable.controlplane.keys.SigningKeyStore;
import io.perishable.proto.v1.IssueRequest;
import io.perishable.proto.v1.IssueResponse;
import io.perishable.proto.v1.TokenClaims;
import io.perishable.proto.v1.TokenServiceGrpc;
import io.perishable.token.DecodedToken;
import io.perishable.token.TokenCodec;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
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
  private SigningKeyStore keys;
  private ManagedChannel channel;

  @BeforeEach
  void start() {
    var config = TestConfigs.controlPlane(dataDir);
    keys = SigningKeyStore.open(dataDir, clock);
    TokenIssuer issuer = new TokenIssuer(new IssuancePolicy(config), keys, clock);
    channel = grpc.serve(ServerInterceptors.intercept(new TokenServiceEndpoint(issuer),
        new IssuerAuthenticator(config.issuers())));
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
}
