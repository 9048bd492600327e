package io.perishable.authz.testing;

import io.perishable.proto.v1.TokenClaims;
import io.perishable.token.SigningKey;
import io.perishable.token.TokenCodec;
import io.perishable.token.TokenIds;
import java.time.Clock;
import java.time.Duration;
import java.util.function.UnaryOperator;

/** Mints tokens the way the control plane does, for tests that need no control plane. */
public final class TestTokens {
  private final SigningKey key;
  private final Clock clock;

  public TestTokens(SigningKey key, Clock clock) {
    this.key = key;
    this.clock = clock;
  }

  public SigningKey key() {
    return key;
  }

  /** Claims for agent-1: llm:complete and llm:embed, model gpt-4o-mini, 256 tokens, openai. */
  public TokenClaims.Builder claims(Duration ttl) {
    long now = clock.millis();
    return TokenClaims.newBuilder()
        .setTokenId(TokenIds.random())
        .setKeyId(key.keyId())
        .setIssuedAtMs(now)
        .setExpiresAtMs(now + ttl.toMillis())
        .setAgentId("agent-1")
        .addScopes("llm:complete")
        .addScopes("llm:embed")
        .addModels("gpt-4o-mini")
        .setMaxTokensPerRequest(256)
        .setUpstream("openai");
  }

  /** A valid 10-minute token with the default claims. */
  public String mint() {
    return mint(c -> c);
  }

  /** A 10-minute token with the default claims, adjusted. */
  public String mint(UnaryOperator<TokenClaims.Builder> adjust) {
    return TokenCodec.encode(adjust.apply(claims(Duration.ofMinutes(10))).build(), key);
  }
}
