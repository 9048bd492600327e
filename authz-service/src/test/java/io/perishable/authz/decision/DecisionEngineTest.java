package io.perishable.authz.decision;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.perishable.authz.DenialReason;
import io.perishable.authz.body.RequestBodyInspector;
import io.perishable.authz.revocation.RevocationSet;
import io.perishable.authz.scope.PathPattern;
import io.perishable.authz.scope.ScopeCatalog;
import io.perishable.authz.scope.ScopeDefinition;
import io.perishable.authz.sync.SyncStatus;
import io.perishable.authz.testing.MutableClock;
import io.perishable.authz.testing.TestTokens;
import io.perishable.authz.token.KeyRing;
import io.perishable.authz.token.TokenVerifier;
import io.perishable.authz.upstream.Provider;
import io.perishable.authz.upstream.UpstreamConfig;
import io.perishable.authz.upstream.UpstreamCredentials;
import io.perishable.proto.v1.RevocationRule;
import io.perishable.proto.v1.TokenClaims;
import io.perishable.token.SigningKey;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The pure decision engine with a fake clock: one behaviour per test. */
class DecisionEngineTest {
  private static final String OPENAI_KEY = "sk-real-openai-key";
  private static final String ANTHROPIC_KEY = "sk-ant-real-key";
  private static final Duration SKEW = Duration.ofSeconds(30);

  private final MutableClock clock = new MutableClock(Instant.parse("2026-11-24T12:00:00Z"));
  private final SigningKey key = SigningKey.generate(clock.millis());
  private final TestTokens tokens = new TestTokens(key, clock);
  private final KeyRing keys = new KeyRing();
  private final TokenVerifier verifier = new TokenVerifier(keys, clock, SKEW, 1000);
  private final RevocationSet revocations = new RevocationSet();
  private boolean synced = true;
  private Duration silence = Duration.ZERO;
  private DecisionEngine engine;

  @BeforeEach
  void setUp() {
    keys.replaceAll(Map.of(key.keyId(), key.rawPublicKey()));
    ScopeCatalog scopes = new ScopeCatalog(List.of(
        scope("llm:complete", "POST", "/v1/chat/completions", "/v1/completions", "/v1/messages"),
        scope("llm:embed", "POST", "/v1/embeddings"),
        scope("llm:models", "GET", "/v1/models")));
    UpstreamCredentials upstreams = UpstreamCredentials.load(List.of(
        new UpstreamConfig("openai", Provider.OPENAI, Optional.empty(),
            Optional.of("OPENAI_KEY"), null),
        new UpstreamConfig("anthropic", Provider.ANTHROPIC, Optional.empty(),
            Optional.of("ANTHROPIC_KEY"), "2023-06-01")),
        Map.of("OPENAI_KEY", OPENAI_KEY, "ANTHROPIC_KEY", ANTHROPIC_KEY)::get);
    SyncStatus sync = new SyncStatus() {
      @Override
      public boolean hasSnapshot() {
        return synced;
      }

      @Override
      public Duration silence() {
        return silence;
      }
    };
    engine = new DecisionEngine(verifier, revocations, scopes, upstreams,
        new RequestBodyInspector(64), sync, Optional.of(Duration.ofMinutes(1)));
  }

  private static ScopeDefinition scope(String name, String method, String... paths) {
    return new ScopeDefinition(name, Set.of(method),
        Stream.of(paths).map(PathPattern::compile).toList(), Optional.empty());
  }

  private Decision decide(Requests request) {
    return engine.decide(request.build());
  }

  private Decision.Deny denied(Requests request) {
    return assertInstanceOf(Decision.Deny.class, decide(request));
  }

  private Decision.Allow allowed(Requests request) {
    return assertInstanceOf(Decision.Allow.class, decide(request));
  }

  // ---- allow ----------------------------------------------------------------------------

  @Test
  void check_validOpenAiRequest_allowedWithRealKeyAndRoute() {
    Decision.Allow allow =
        allowed(Requests.post("/v1/chat/completions").bearer(tokens.mint())
            .chat("gpt-4o-mini", 100));

    assertEquals("Bearer " + OPENAI_KEY, allow.setHeaders().get("authorization"));
    assertEquals("openai", allow.setHeaders().get(DecisionEngine.ROUTE_HEADER));
    assertEquals(List.of("x-api-key"), allow.removeHeaders());
    assertEquals("llm:complete", allow.scope());
    assertEquals("gpt-4o-mini", allow.body().model().orElseThrow());
  }

  @Test
  void check_anthropicStyleRequest_allowedWithXApiKeyAndVersion() {
    String token = tokens.mint(c -> c.clearModels().addModels("claude-sonnet-4-5")
        .setUpstream("anthropic"));
    Decision.Allow allow = allowed(Requests.post("/v1/messages").header("x-api-key", token)
        .chat("claude-sonnet-4-5", 200));

    assertEquals(ANTHROPIC_KEY, allow.setHeaders().get("x-api-key"));
    assertEquals("anthropic", allow.setHeaders().get(DecisionEngine.ROUTE_HEADER));
    assertEquals("2023-06-01", allow.addIfAbsentHeaders().get("anthropic-version"));
    assertEquals(List.of("authorization"), allow.removeHeaders());
  }

  @Test
  void check_sameTokenTwice_signatureVerifiedOnce() {
    String token = tokens.mint();
    allowed(Requests.post("/v1/chat/completions").bearer(token).chat("gpt-4o-mini", 10));
    allowed(Requests.post("/v1/chat/completions").bearer(token).chat("gpt-4o-mini", 20));

    assertEquals(1, verifier.signatureChecks());
  }

  @Test
  void check_expiredWithinSkew_allowed() {
    String token = tokens.mint();
    clock.advance(Duration.ofMinutes(10).plus(SKEW).minusMillis(1));
    allowed(Requests.post("/v1/chat/completions").bearer(token).chat("gpt-4o-mini", 10));
  }

  @Test
  void check_embeddingsWithoutMaxTokens_allowed() {
    allowed(Requests.post("/v1/embeddings").bearer(tokens.mint())
        .json("{\"model\":\"gpt-4o-mini\",\"input\":\"hello\"}"));
  }

  @Test
  void check_tokenWithoutModelLimit_anyModelAllowed() {
    allowed(Requests.post("/v1/chat/completions").bearer(tokens.mint(c -> c.clearModels()))
        .chat("o3", 10));
  }

  @Test
  void check_getWithoutBody_allowedWhenScopeGrantsIt() {
    allowed(Requests.get("/v1/models").bearer(tokens.mint(c -> c.addScopes("llm:models"))));
  }

  // ---- 401 ------------------------------------------------------------------------------

  static Stream<Arguments> badCredentials() {
    return Stream.of(
        Arguments.of("no token", null, DenialReason.TOKEN_MISSING),
        Arguments.of("provider key", "Bearer sk-proj-abc", DenialReason.TOKEN_MALFORMED),
        Arguments.of("basic auth", "Basic dXNlcjpwYXNz", DenialReason.TOKEN_MALFORMED),
        Arguments.of("garbage prs", "Bearer prs_garbage", DenialReason.TOKEN_MALFORMED),
        Arguments.of("two dots", "Bearer prs_a.b.c", DenialReason.TOKEN_MALFORMED));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("badCredentials")
  void check_badCredential_denied401(String name, String authorization, DenialReason reason) {
    Requests request = Requests.post("/v1/chat/completions").chat("gpt-4o-mini", 10);
    if (authorization != null) {
      request.header("authorization", authorization);
    }
    Decision.Deny deny = denied(request);
    assertEquals(reason, deny.reason());
    assertEquals(401, deny.reason().httpStatus());
  }

  @Test
  void check_tokenSignedByAnotherKey_deniedUnknownKey() {
    TestTokens stranger = new TestTokens(SigningKey.generate(clock.millis()), clock);
    assertEquals(DenialReason.TOKEN_UNKNOWN_KEY, denied(Requests.post("/v1/chat/completions")
        .bearer(stranger.mint()).chat("gpt-4o-mini", 10)).reason());
  }

  @Test
  void check_foreignSignatureUnderOurKeyId_deniedBadSignature() {
    // The attacker's own key signs claims that name our key id.
    SigningKey attacker = SigningKey.generate(clock.millis());
    var claims = tokens.claims(Duration.ofMinutes(10)).setKeyId(attacker.keyId()).build();
    String forged = io.perishable.token.TokenCodec.encode(claims, attacker);
    String swapped = forged.replaceFirst("^prs_[^.]+", "prs_" + java.util.Base64.getUrlEncoder()
        .withoutPadding().encodeToString(claims.toBuilder().setKeyId(key.keyId()).build()
            .toByteArray()));
    assertEquals(DenialReason.TOKEN_BAD_SIGNATURE, denied(Requests.post("/v1/chat/completions")
        .bearer(swapped).chat("gpt-4o-mini", 10)).reason());
  }

  @Test
  void check_expiredToken_denied401() {
    String token = tokens.mint();
    allowed(Requests.post("/v1/chat/completions").bearer(token).chat("gpt-4o-mini", 10));
    clock.advance(Duration.ofMinutes(10).plus(SKEW));

    Decision.Deny deny = denied(Requests.post("/v1/chat/completions").bearer(token)
        .chat("gpt-4o-mini", 10));
    assertEquals(DenialReason.TOKEN_EXPIRED, deny.reason());
    assertNotNull(deny.claims(), "an expired but genuine token still names its id");
  }

  @Test
  void check_tokenIssuedInTheFuture_denied401() {
    String token = tokens.mint(c -> c.setIssuedAtMs(clock.millis() + SKEW.toMillis() + 1000));
    assertEquals(DenialReason.TOKEN_NOT_YET_VALID, denied(Requests.post("/v1/chat/completions")
        .bearer(token).chat("gpt-4o-mini", 10)).reason());
  }

  @Test
  void check_tokenInBothHeaders_deniedAmbiguous() {
    String token = tokens.mint();
    assertEquals(DenialReason.CREDENTIAL_AMBIGUOUS, denied(Requests.post("/v1/chat/completions")
        .bearer(token).header("x-api-key", token).chat("gpt-4o-mini", 10)).reason());
  }

  // ---- 403 ------------------------------------------------------------------------------

  static Stream<Arguments> outOfGrant() {
    return Stream.of(
        Arguments.of("path", Requests.post("/v1/images/generations").chat("gpt-4o-mini", 10),
            DenialReason.PATH_NOT_ALLOWED),
        Arguments.of("method", Requests.get("/v1/chat/completions"),
            DenialReason.METHOD_NOT_ALLOWED),
        Arguments.of("model", Requests.post("/v1/chat/completions").chat("gpt-4o", 10),
            DenialReason.MODEL_NOT_ALLOWED),
        Arguments.of("max_tokens", Requests.post("/v1/chat/completions").chat("gpt-4o-mini", 257),
            DenialReason.MAX_TOKENS_EXCEEDED),
        Arguments.of("max_completion_tokens", Requests.post("/v1/chat/completions")
            .json("{\"model\":\"gpt-4o-mini\",\"max_completion_tokens\":1000}"),
            DenialReason.MAX_TOKENS_EXCEEDED),
        Arguments.of("n multiplies", Requests.post("/v1/chat/completions")
            .json("{\"model\":\"gpt-4o-mini\",\"max_tokens\":100,\"n\":3}"),
            DenialReason.MAX_TOKENS_EXCEEDED),
        Arguments.of("no max_tokens", Requests.post("/v1/chat/completions")
            .json("{\"model\":\"gpt-4o-mini\"}"), DenialReason.MAX_TOKENS_REQUIRED),
        Arguments.of("no model", Requests.post("/v1/chat/completions")
            .json("{\"max_tokens\":10}"), DenialReason.MODEL_REQUIRED),
        Arguments.of("models endpoint not granted", Requests.get("/v1/models"),
            DenialReason.PATH_NOT_ALLOWED));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("outOfGrant")
  void check_outsideGrant_denied403(String name, Requests request, DenialReason reason) {
    Decision.Deny deny = denied(request.bearer(tokens.mint()));
    assertEquals(reason, deny.reason());
    assertEquals(403, reason.httpStatus());
    assertNotNull(deny.claims());
  }

  @Test
  void check_disallowedModel_messageNamesAllowedModels() {
    Decision.Deny deny = denied(Requests.post("/v1/chat/completions").bearer(tokens.mint())
        .chat("gpt-4o", 10));
    assertEquals("model 'gpt-4o' is not allowed; this token may use [gpt-4o-mini]",
        deny.message());
  }

  @Test
  void check_disallowedModel_denialCarriesTheParsedBody_forTheAuditRecord() {
    Decision.Deny deny = denied(Requests.post("/v1/chat/completions").bearer(tokens.mint())
        .chat("gpt-4o", 10));
    assertEquals(Optional.of("gpt-4o"), deny.body().model());
  }

  @Test
  void check_tooManyTokens_denialCarriesModelAndMaxTokens() {
    Decision.Deny deny = denied(Requests.post("/v1/chat/completions").bearer(tokens.mint())
        .chat("gpt-4o-mini", 257));
    assertEquals(Optional.of("gpt-4o-mini"), deny.body().model());
    assertEquals(257, deny.body().maxTokens().getAsLong());
  }

  @Test
  void check_deniedBeforeTheBodyIsRead_carriesNoBody() {
    Decision.Deny deny = denied(Requests.post("/v1/images/generations").bearer(tokens.mint())
        .chat("gpt-4o-mini", 10));
    assertNull(deny.body());
  }

  // ---- 400 / 415 ------------------------------------------------------------------------

  static Stream<Arguments> badBodies() {
    return Stream.of(
        Arguments.of("not json", Requests.post("/v1/chat/completions").json("model=gpt-4o"),
            DenialReason.BODY_NOT_JSON),
        Arguments.of("duplicate model", Requests.post("/v1/chat/completions").json(
            "{\"model\":\"gpt-4o-mini\",\"max_tokens\":10,\"model\":\"gpt-4o\"}"),
            DenialReason.BODY_DUPLICATE_KEY),
        Arguments.of("escaped duplicate", Requests.post("/v1/chat/completions").json(
            "{\"model\":\"gpt-4o-mini\",\"max_tokens\":10,\"mod\\u0065l\":\"gpt-4o\"}"),
            DenialReason.BODY_DUPLICATE_KEY),
        Arguments.of("string max_tokens", Requests.post("/v1/chat/completions").json(
            "{\"model\":\"gpt-4o-mini\",\"max_tokens\":\"10\"}"),
            DenialReason.BODY_INVALID_FIELD),
        Arguments.of("gzip", Requests.post("/v1/chat/completions").chat("gpt-4o-mini", 10)
            .header("content-encoding", "gzip"), DenialReason.BODY_ENCODED),
        Arguments.of("text/plain", Requests.post("/v1/chat/completions")
            .header("content-type", "text/plain").json("{}"),
            DenialReason.CONTENT_TYPE_UNSUPPORTED),
        Arguments.of("length mismatch", Requests.post("/v1/chat/completions")
            .header("content-length", "9999").chat("gpt-4o-mini", 10),
            DenialReason.BODY_TRUNCATED),
        Arguments.of("partial body", Requests.post("/v1/chat/completions")
            .header("x-envoy-auth-partial-body", "true").chat("gpt-4o-mini", 10),
            DenialReason.BODY_TRUNCATED),
        Arguments.of("client routing header", Requests.post("/v1/chat/completions")
            .header("x-perishable-upstream", "anthropic").chat("gpt-4o-mini", 10),
            DenialReason.RESERVED_HEADER),
        Arguments.of("dot segment", Requests.post("/v1/embeddings/../chat/completions")
            .chat("gpt-4o-mini", 10), DenialReason.PATH_NOT_CANONICAL),
        Arguments.of("encoded slash", Requests.post("/v1/chat%2Fcompletions")
            .chat("gpt-4o-mini", 10), DenialReason.PATH_NOT_CANONICAL));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("badBodies")
  void check_requestWeCannotFullyUnderstand_denied(
      String name, Requests request, DenialReason reason) {
    assertEquals(reason, denied(request.bearer(tokens.mint())).reason());
  }

  // ---- 503 ------------------------------------------------------------------------------

  @Test
  void check_beforeFirstSnapshot_denied503NotSynced() {
    synced = false;
    Decision.Deny deny = denied(Requests.post("/v1/chat/completions").bearer(tokens.mint())
        .chat("gpt-4o-mini", 10));
    assertEquals(DenialReason.NOT_SYNCED, deny.reason());
    assertEquals(503, deny.reason().httpStatus());
  }

  @Test
  void check_controlPlaneSilentTooLong_denied503SyncStale() {
    String token = tokens.mint();
    silence = Duration.ofMinutes(1).plusMillis(1);
    Decision.Deny deny = denied(Requests.post("/v1/chat/completions")
        .bearer(token).chat("gpt-4o-mini", 10));
    assertEquals(DenialReason.SYNC_STALE, deny.reason());
    assertEquals(503, deny.reason().httpStatus());
  }

  @Test
  void check_controlPlaneSilentExactlyMaxStaleness_stillServed() {
    String token = tokens.mint();
    silence = Duration.ofMinutes(1);
    assertInstanceOf(Decision.Allow.class, engine.decide(Requests.post("/v1/chat/completions")
        .bearer(token).chat("gpt-4o-mini", 10).build()));
  }

  // ---- revocation -------------------------------------------------------------------------

  private static RevocationRule.Builder rule(String id, String reason) {
    return RevocationRule.newBuilder().setRuleId(id).setReason(reason)
        .setExpiresAtMs(Long.MAX_VALUE);
  }

  @Test
  void check_revokedToken_denied401WithReasonEvenWhenVerificationIsCached() {
    TokenClaims claims = tokens.claims(Duration.ofMinutes(10)).build();
    String token = io.perishable.token.TokenCodec.encode(claims, key);
    Requests request = Requests.post("/v1/chat/completions").bearer(token)
        .chat("gpt-4o-mini", 10);
    assertInstanceOf(Decision.Allow.class, engine.decide(request.build()));
    long signatureChecks = verifier.signatureChecks();

    revocations.addAll(List.of(rule("rvk_1", "leaked in CI logs")
        .setTokenId(claims.getTokenId()).build()));

    Decision.Deny deny = denied(request);
    assertEquals(DenialReason.TOKEN_REVOKED, deny.reason());
    assertEquals(401, deny.reason().httpStatus());
    assertEquals("the token has been revoked: leaked in CI logs (rule rvk_1)", deny.message());
    assertEquals(signatureChecks, verifier.signatureChecks(), "served from the cache");
  }

  @Test
  void check_ancestorRevoked_descendantDenied() {
    String grandchild = tokens.mint(c -> c.addAncestorIds("root-id").addAncestorIds("child-id"));
    revocations.addAll(List.of(rule("rvk_2", "subtree").setTokenId("root-id").build()));
    assertEquals(DenialReason.TOKEN_REVOKED, denied(Requests.post("/v1/chat/completions")
        .bearer(grandchild).chat("gpt-4o-mini", 10)).reason());
  }

  @Test
  void check_agentRuleWithIssuedBefore_sparesTokensIssuedLater() {
    String old = tokens.mint();
    clock.advance(Duration.ofSeconds(5));
    revocations.addAll(List.of(rule("rvk_3", "agent compromised").setAgentId("agent-1")
        .setIssuedBeforeMs(clock.millis()).build()));
    String fresh = tokens.mint();
    assertEquals(DenialReason.TOKEN_REVOKED, denied(Requests.post("/v1/chat/completions")
        .bearer(old).chat("gpt-4o-mini", 10)).reason());
    assertInstanceOf(Decision.Allow.class, engine.decide(Requests.post("/v1/chat/completions")
        .bearer(fresh).chat("gpt-4o-mini", 10).build()));
  }

  @Test
  void check_tokenUpstreamNotConfigured_denied503() {
    assertEquals(DenialReason.UPSTREAM_UNAVAILABLE, denied(Requests.post("/v1/chat/completions")
        .bearer(tokens.mint(c -> c.setUpstream("azure"))).chat("gpt-4o-mini", 10)).reason());
  }

  // ---- error style ----------------------------------------------------------------------

  @Test
  void check_anthropicClient_deniedInAnthropicStyle() {
    Decision.Deny deny = denied(Requests.post("/v1/messages").header("x-api-key", "sk-nope")
        .chat("claude", 10));
    assertTrue(deny.anthropicStyle());
    Decision.Deny openAi = denied(Requests.post("/v1/chat/completions").chat("gpt-4o", 10));
    assertTrue(!openAi.anthropicStyle());
  }
}
