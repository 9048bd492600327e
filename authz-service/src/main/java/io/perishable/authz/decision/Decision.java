package io.perishable.authz.decision;

import io.perishable.authz.DenialReason;
import io.perishable.authz.body.BodyFacts;
import io.perishable.authz.upstream.UpstreamCredentials.Upstream;
import io.perishable.authz.token.VerifiedToken;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Map;

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
   */
  record Deny(DenialReason reason, String message, VerifiedToken claims, boolean anthropicStyle,
      Optional<Duration> retryAfter) implements Decision {

    public Deny(DenialReason reason, String message, VerifiedToken claims,
        boolean anthropicStyle) {
      this(reason, message, claims, anthropicStyle, Optional.empty());
    }
  }
}
