package io.perishable.authz.decision;

import io.perishable.authz.DenialReason;
import io.perishable.authz.body.BodyFacts;
import io.perishable.authz.body.BodyInspection;
import io.perishable.authz.body.RequestBodyInspector;
import io.perishable.authz.revocation.RevocationSet;
import io.perishable.authz.ratelimit.RateLimiter;
import io.perishable.authz.scope.RateLimit;
import io.perishable.authz.scope.RequestPath;
import io.perishable.authz.scope.RequestPathResult;
import io.perishable.authz.scope.ScopeCatalog;
import io.perishable.authz.scope.ScopeDefinition;
import io.perishable.authz.sync.SyncStatus;
import io.perishable.authz.token.TokenCheck;
import io.perishable.authz.token.TokenVerifier;
import io.perishable.authz.token.VerifiedToken;
import io.perishable.authz.upstream.Provider;
import io.perishable.authz.upstream.UpstreamCredentials;
import io.perishable.authz.upstream.UpstreamCredentials.Upstream;
import io.perishable.proto.v1.RevocationRule;
import io.perishable.token.TokenFormat;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.function.BooleanSupplier;

/**
 * Decides one request, in the order of DESIGN.md "The check": freshness of pushed state,
 * reserved headers, the credential, the token (signature and time, then revocation: checked on
 * every request, whether the verification came from the cache or not), method and path against
 * the granted scopes, then the body against the granted models and max tokens. Anything it does
 * not fully understand is denied with a specific reason. Time enters only through the
 * {@link TokenVerifier}'s clock and the {@link SyncStatus}'s monotonic silence.
 */
public final class DecisionEngine {
  /** Headers only Envoy and authz-service may set; a client sending one is refused. */
  static final String RESERVED_HEADER_PREFIX = "x-perishable-";

  /** Header Envoy's route table matches to pick the upstream cluster. */
  public static final String ROUTE_HEADER = "x-perishable-upstream";

  /**
   * Endpoints that generate tokens. A token with a max-tokens ceiling must name max_tokens (or
   * max_completion_tokens) on these: otherwise the provider's default, often the model's
   * maximum, would apply and the ceiling would mean nothing.
   */
  public static final Set<String> GENERATIVE_PATHS =
      Set.of("/v1/chat/completions", "/v1/completions", "/v1/messages");

  private static final String BEARER = "bearer ";

  private final TokenVerifier tokens;
  private final RevocationSet revocations;
  private final ScopeCatalog scopes;
  private final UpstreamCredentials upstreams;
  private final RequestBodyInspector bodies;
  private final SyncStatus sync;
  private final Optional<Duration> maxStaleness;
  private final RateLimiter rateLimiter;
  private final BooleanSupplier recording;

  /**
   * @param revocations the rules pushed by the control plane, consulted for every verified
   *     token
   * @param maxStaleness deny everything (503 sync_stale) when the control plane has not been
   *     heard from for longer than this; empty keeps serving on the last pushed state
   */
  public DecisionEngine(TokenVerifier tokens, RevocationSet revocations, ScopeCatalog scopes,
      UpstreamCredentials upstreams, RequestBodyInspector bodies, SyncStatus sync,
      Optional<Duration> maxStaleness) {
    this(tokens, revocations, scopes, upstreams, bodies, sync, maxStaleness, null);
  }

  /**
   * @param rateLimiter enforces each scope's {@code rate_limit} per token; null enforces none
   */
  public DecisionEngine(TokenVerifier tokens, RevocationSet revocations, ScopeCatalog scopes,
      UpstreamCredentials upstreams, RequestBodyInspector bodies, SyncStatus sync,
      Optional<Duration> maxStaleness, RateLimiter rateLimiter) {
    this(tokens, revocations, scopes, upstreams, bodies, sync, maxStaleness, rateLimiter,
        () -> true);
  }

  /**
   * @param recording false while decisions cannot be recorded for the audit trail (the report
   *     spool is full under fail_closed): every request is then refused (503
   *     audit_unavailable)
   */
  public DecisionEngine(TokenVerifier tokens, RevocationSet revocations, ScopeCatalog scopes,
      UpstreamCredentials upstreams, RequestBodyInspector bodies, SyncStatus sync,
      Optional<Duration> maxStaleness, RateLimiter rateLimiter, BooleanSupplier recording) {
    this.recording = recording;
    this.rateLimiter = rateLimiter;
    this.tokens = tokens;
    this.revocations = revocations;
    this.scopes = scopes;
    this.upstreams = upstreams;
    this.bodies = bodies;
    this.sync = sync;
    this.maxStaleness = maxStaleness;
  }

  public Decision decide(AuthzRequest request) {
    boolean anthropicStyle = request.headers().containsKey("x-api-key")
        || request.path().startsWith("/v1/messages");

    if (!sync.hasSnapshot()) {
      return deny(DenialReason.NOT_SYNCED,
          "authorization service has not yet received keys from the control plane", null,
          anthropicStyle);
    }
    if (maxStaleness.isPresent() && sync.silence().compareTo(maxStaleness.get()) > 0) {
      return deny(DenialReason.SYNC_STALE, "authorization service has lost contact with the "
          + "control plane for longer than max_staleness (" + maxStaleness.get().toMillis()
          + "ms), so it may be missing revocations", null, anthropicStyle);
    }
    if (!recording.getAsBoolean()) {
      return deny(DenialReason.AUDIT_UNAVAILABLE, "authorization service cannot record "
          + "decisions for the audit trail (its report spool is full or failing), so it refuses "
          + "requests until the control plane catches up", null, anthropicStyle);
    }
    for (String name : request.headers().keySet()) {
      if (name.startsWith(RESERVED_HEADER_PREFIX)) {
        return deny(DenialReason.RESERVED_HEADER,
            "header " + name + " is reserved for the gateway", null, anthropicStyle);
      }
    }

    // The credential.
    List<String> authorization = request.headerValues("authorization");
    List<String> apiKey = request.headerValues("x-api-key");
    if (authorization.size() + apiKey.size() > 1) {
      return deny(DenialReason.CREDENTIAL_AMBIGUOUS, "send the token in exactly one "
          + "authorization or x-api-key header", null, anthropicStyle);
    }
    String token;
    if (!authorization.isEmpty()) {
      String value = authorization.get(0);
      if (!value.toLowerCase(Locale.ROOT).startsWith(BEARER)) {
        return deny(DenialReason.TOKEN_MALFORMED,
            "authorization header must be 'Bearer <token>'", null, anthropicStyle);
      }
      token = value.substring(BEARER.length()).strip();
    } else if (!apiKey.isEmpty()) {
      token = apiKey.get(0).strip();
    } else {
      return deny(DenialReason.TOKEN_MISSING, "no token: send 'authorization: Bearer prs_...' "
          + "or 'x-api-key: prs_...'", null, anthropicStyle);
    }
    if (!token.startsWith(TokenFormat.PREFIX)) {
      return deny(DenialReason.TOKEN_MALFORMED,
          "not a perishable token (they start with " + TokenFormat.PREFIX + ")", null,
          anthropicStyle);
    }

    // The token.
    TokenCheck check = tokens.verify(token);
    if (check instanceof TokenCheck.Invalid invalid) {
      return deny(invalid.reason(), invalid.detail(), invalid.claims(), anthropicStyle);
    }
    VerifiedToken claims = ((TokenCheck.Valid) check).claims();
    Optional<RevocationRule> revoked = revocations.match(claims);
    if (revoked.isPresent()) {
      String reason = revoked.get().getReason();
      return deny(DenialReason.TOKEN_REVOKED, "the token has been revoked: "
          + (reason.isEmpty() ? "no reason given" : reason) + " (rule "
          + revoked.get().getRuleId() + ")", claims, anthropicStyle);
    }

    // Method and path.
    RequestPathResult pathResult = RequestPath.normalize(request.path());
    if (pathResult instanceof RequestPathResult.Rejected rejected) {
      return deny(DenialReason.PATH_NOT_CANONICAL, rejected.detail(), claims, anthropicStyle);
    }
    String path = ((RequestPathResult.Ok) pathResult).path();
    Optional<ScopeDefinition> scope =
        scopes.match(claims.scopes(), request.method(), path);
    if (scope.isEmpty()) {
      boolean pathGranted = claims.scopes().stream()
          .map(scopes::get).flatMap(Optional::stream)
          .anyMatch(s -> s.paths().stream().anyMatch(p -> p.matches(path)));
      return pathGranted
          ? deny(DenialReason.METHOD_NOT_ALLOWED, "the token's scopes do not allow "
              + request.method() + " on this path", claims, anthropicStyle)
          : deny(DenialReason.PATH_NOT_ALLOWED, "the token's scopes "
              + claims.scopes() + " do not allow this path", claims, anthropicStyle);
    }

    // The body.
    Optional<Decision.Deny> encodingProblem = checkEncoding(request, claims, anthropicStyle);
    if (encodingProblem.isPresent()) {
      return encodingProblem.get();
    }
    BodyFacts facts = null;
    if (request.body().length > 0) {
      BodyInspection inspection = bodies.inspect(request.body());
      if (inspection instanceof BodyInspection.Rejected rejected) {
        return deny(bodyReason(rejected), rejected.detail(), claims, anthropicStyle);
      }
      facts = ((BodyInspection.Accepted) inspection).facts();
    }
    Optional<Decision.Deny> grantProblem =
        checkGrant(request, path, facts, claims, anthropicStyle);
    if (grantProblem.isPresent()) {
      return grantProblem.get().withBody(facts);
    }

    // Where it goes, with which key.
    Optional<Upstream> upstream = upstreams.get(claims.upstream());
    if (upstream.isEmpty()) {
      return deny(DenialReason.UPSTREAM_UNAVAILABLE, "upstream '" + claims.upstream()
          + "' is not configured on this gateway", claims, anthropicStyle).withBody(facts);
    }
    // Last, so a request refused for any other reason does not spend a permit.
    Optional<RateLimit> limit = scope.get().rateLimit();
    if (rateLimiter != null && limit.isPresent()) {
      Optional<Duration> wait =
          rateLimiter.tryAcquire(claims.tokenId(), scope.get().name(), limit.get());
      if (wait.isPresent()) {
        return new Decision.Deny(DenialReason.RATE_LIMITED, "rate limit of "
            + limit.get().permits() + " requests per " + period(limit.get().per())
            + " for scope " + scope.get().name() + " reached; retry after "
            + retryAfterSeconds(wait.get()) + "s", claims, anthropicStyle, wait, facts);
      }
    }
    return allow(claims, scope.get().name(), upstream.get(), facts);
  }

  private Optional<Decision.Deny> checkEncoding(
      AuthzRequest request, VerifiedToken claims, boolean anthropicStyle) {
    Optional<String> encoding = request.header("content-encoding");
    if (encoding.isPresent() && !encoding.get().strip().equalsIgnoreCase("identity")) {
      return Optional.of(deny(DenialReason.BODY_ENCODED, "compressed request bodies are not "
          + "accepted; send the JSON body uncompressed", claims, anthropicStyle));
    }
    if (request.header("x-envoy-auth-partial-body").map("true"::equals).orElse(false)) {
      return Optional.of(deny(DenialReason.BODY_TRUNCATED,
          "the gateway received only part of the body", claims, anthropicStyle));
    }
    Optional<String> length = request.header("content-length");
    if (length.isPresent()) {
      long declared;
      try {
        declared = Long.parseLong(length.get().strip());
      } catch (NumberFormatException e) {
        return Optional.of(deny(DenialReason.BODY_TRUNCATED, "content-length is not a number",
            claims, anthropicStyle));
      }
      if (declared != request.body().length) {
        return Optional.of(deny(DenialReason.BODY_TRUNCATED, "content-length " + declared
            + " does not match the " + request.body().length + " bytes received", claims,
            anthropicStyle));
      }
    }
    if (request.body().length > 0) {
      String type = request.header("content-type").orElse("");
      String mediaType = type.split(";", 2)[0].strip().toLowerCase(Locale.ROOT);
      if (!mediaType.equals("application/json")) {
        return Optional.of(deny(DenialReason.CONTENT_TYPE_UNSUPPORTED,
            "request bodies must be application/json", claims, anthropicStyle));
      }
      String params = type.contains(";") ? type.split(";", 2)[1].strip().toLowerCase(Locale.ROOT)
          : "";
      if (!params.isEmpty() && !params.replace(" ", "").equals("charset=utf-8")) {
        return Optional.of(deny(DenialReason.CONTENT_TYPE_UNSUPPORTED,
            "the only content-type parameter accepted is charset=utf-8", claims,
            anthropicStyle));
      }
    }
    return Optional.empty();
  }

  private Optional<Decision.Deny> checkGrant(AuthzRequest request, String path, BodyFacts facts,
      VerifiedToken claims, boolean anthropicStyle) {
    boolean sendsBody = !request.method().equals("GET") && !request.method().equals("HEAD");
    if (!claims.models().isEmpty() && sendsBody) {
      Optional<String> model = facts == null ? Optional.empty() : facts.model();
      if (model.isEmpty()) {
        return Optional.of(deny(DenialReason.MODEL_REQUIRED, "this token is limited to models "
            + claims.models() + "; the request must name its model", claims,
            anthropicStyle));
      }
      if (!claims.models().contains(model.get())) {
        return Optional.of(deny(DenialReason.MODEL_NOT_ALLOWED, "model '"
            + printable(model.get()) + "' is not allowed; this token may use "
            + claims.models(), claims, anthropicStyle));
      }
    }
    long ceiling = Integer.toUnsignedLong(claims.maxTokensPerRequest());
    if (ceiling > 0 && sendsBody) {
      OptionalLong maxTokens = facts == null ? OptionalLong.empty() : largest(
          facts.maxTokens(), facts.maxCompletionTokens());
      if (maxTokens.isEmpty()) {
        if (GENERATIVE_PATHS.contains(path)) {
          return Optional.of(deny(DenialReason.MAX_TOKENS_REQUIRED, "this token allows at most "
              + ceiling + " tokens per request; set max_tokens", claims, anthropicStyle));
        }
      } else {
        long n = facts.n().isPresent() ? Math.max(1, facts.n().getAsLong()) : 1;
        long requested = multiplySaturated(maxTokens.getAsLong(), n);
        if (requested > ceiling) {
          return Optional.of(deny(DenialReason.MAX_TOKENS_EXCEEDED, "the request asks for up to "
              + requested + " tokens (max_tokens x n); this token allows at most " + ceiling,
              claims, anthropicStyle));
        }
      }
    }
    return Optional.empty();
  }

  private static Decision allow(
      VerifiedToken claims, String scope, Upstream upstream, BodyFacts facts) {
    Map<String, String> set;
    Map<String, String> ifAbsent;
    List<String> remove;
    if (upstream.provider() == Provider.ANTHROPIC) {
      set = Map.of("x-api-key", upstream.apiKey(), ROUTE_HEADER, upstream.name());
      ifAbsent = Map.of("anthropic-version", upstream.config().anthropicVersion());
      remove = List.of("authorization");
    } else {
      set = Map.of("authorization", "Bearer " + upstream.apiKey(), ROUTE_HEADER, upstream.name());
      ifAbsent = Map.of();
      remove = List.of("x-api-key");
    }
    return new Decision.Allow(claims, scope, upstream, facts, set, ifAbsent, remove);
  }

  private static String period(Duration d) {
    long s = d.getSeconds();
    return s == 1 ? "second" : s == 60 ? "minute" : s == 3600 ? "hour" : s == 86400 ? "day"
        : s + "s";
  }

  /** Whole seconds, rounded up, at least 1: what Retry-After carries. */
  public static long retryAfterSeconds(Duration wait) {
    return Math.max(1, (wait.toMillis() + 999) / 1000);
  }

  private static DenialReason bodyReason(BodyInspection.Rejected rejected) {
    return switch (rejected.problem()) {
      case DUPLICATE_KEY -> DenialReason.BODY_DUPLICATE_KEY;
      case INVALID_FIELD -> DenialReason.BODY_INVALID_FIELD;
      default -> DenialReason.BODY_NOT_JSON;
    };
  }

  private static Decision.Deny deny(
      DenialReason reason, String message, VerifiedToken claims, boolean anthropicStyle) {
    return new Decision.Deny(reason, message, claims, anthropicStyle);
  }

  private static OptionalLong largest(OptionalLong a, OptionalLong b) {
    if (a.isEmpty()) {
      return b;
    }
    if (b.isEmpty()) {
      return a;
    }
    return OptionalLong.of(Math.max(a.getAsLong(), b.getAsLong()));
  }

  private static long multiplySaturated(long a, long b) {
    long hi = Math.multiplyHigh(a, b);
    long lo = a * b;
    return (hi != 0 || lo < 0) ? Long.MAX_VALUE : lo;
  }

  private static String printable(String s) {
    if (s.length() > 64) {
      return "(too long to show)";
    }
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < 0x20 || c > 0x7e) {
        return "(unprintable)";
      }
    }
    return s;
  }
}
