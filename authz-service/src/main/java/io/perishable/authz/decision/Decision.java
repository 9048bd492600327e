package io.perishable.authz.decision;

import io.perishable.authz.DenialReason;
import io.perishable.authz.body.BodyFacts;
import io.perishable.authz.token.VerifiedToken;
import io.perishable.authz.upstream.UpstreamCredentials.Upstream;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** What to do with a request. */
public sealed interface Decision {
  /**
   * Forward it.
   *
   * @param setHeaders headers to set, replacing any the client sent
   * @param addIfAbsentHeaders headers to set only when the client did not
   * @param removeHeaders headers to strip before forwarding
   */
  record Allow(
      VerifiedToken claims,
      String scope,
      Upstream upstream,
      BodyFacts body,
      Map<String, String> setHeaders,
      Map<String, String> addIfAbsentHeaders,
      List<String> removeHeaders) implements Decision {

    @Override
    public String toString() {
      // setHeaders carries the provider key: never print it.
      return "Allow[token_id=" + claims.tokenId() + ", scope=" + scope + ", upstream="
          + upstream.name() + "]";
    }
  }

  /**
   * Refuse it.
   *
   * @param message safe to show the client: never contains the token or a key
   * @param claims the token's claims when its signature verified (for logs and audit); null
   *     otherwise
   * @param anthropicStyle answer with Anthropic's error shape rather than OpenAI's
   * @param retryAfter for 429s: when a retry can succeed ({@code Retry-After})
   * @param body what the body said, when it was parsed before the refusal (a model not
   *     allowed, too many tokens, a rate limit): for the audit record; null otherwise
   */
  record Deny(DenialReason reason, String message, VerifiedToken claims, boolean anthropicStyle,
      Optional<Duration> retryAfter, BodyFacts body) implements Decision {

    public Deny(DenialReason reason, String message, VerifiedToken claims,
        boolean anthropicStyle) {
      this(reason, message, claims, anthropicStyle, Optional.empty(), null);
    }

    public Deny(DenialReason reason, String message, VerifiedToken claims,
        boolean anthropicStyle, Optional<Duration> retryAfter) {
      this(reason, message, claims, anthropicStyle, retryAfter, null);
    }

    /** This denial, carrying what the parsed body said. */
    public Deny withBody(BodyFacts facts) {
      return new Deny(reason, message, claims, anthropicStyle, retryAfter, facts);
    }
  }
}
