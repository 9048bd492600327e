package io.perishable.controlplane.issue;

import com.google.protobuf.Timestamp;
import io.perishable.controlplane.keys.SigningKeyStore;
import io.perishable.proto.v1.IssueRequest;
import io.perishable.proto.v1.IssueResponse;
import io.perishable.proto.v1.TokenClaims;
import io.perishable.token.SigningKey;
import io.perishable.token.TokenCodec;
import io.perishable.token.TokenIds;
import java.time.Clock;
import java.util.logging.Logger;

/** Turns an accepted Issue request into a signed token. */
public final class TokenIssuer {
  private static final Logger LOG = Logger.getLogger(TokenIssuer.class.getName());

  private final IssuancePolicy policy;
  private final SigningKeyStore keys;
  private final Clock clock;

  public TokenIssuer(IssuancePolicy policy, SigningKeyStore keys, Clock clock) {
    this.policy = policy;
    this.keys = keys;
    this.clock = clock;
  }

  /** Validates, signs and returns the token; throws {@link IssueRejectedException}. */
  public IssueResponse issue(String issuerId, IssueRequest request) {
    IssuancePolicy.Decision decision = policy.decide(request);
    SigningKey key = keys.current();
    long now = clock.millis();
    long expires = now + decision.ttl().toMillis();
    TokenClaims claims = TokenClaims.newBuilder()
        .setTokenId(TokenIds.random())
        .setKeyId(key.keyId())
        .setIssuedAtMs(now)
        .setExpiresAtMs(expires)
        .setAgentId(decision.agentId())
        .addAllScopes(decision.grant().getScopesList())
        .addAllModels(decision.grant().getModelsList())
        .setMaxTokensPerRequest(decision.grant().getMaxTokensPerRequest())
        .setUpstream(decision.grant().getUpstream())
        .putAllLabels(decision.grant().getLabelsMap())
        .build();
    String token = TokenCodec.encode(claims, key);
    LOG.info(() -> "issued token_id=" + claims.getTokenId() + " agent=" + claims.getAgentId()
        + " issuer=" + issuerId + " scopes=" + claims.getScopesList() + " upstream="
        + claims.getUpstream() + " ttl_ms=" + decision.ttl().toMillis());
    return IssueResponse.newBuilder()
        .setToken(token)
        .setTokenId(claims.getTokenId())
        .setIssuedAt(timestamp(now))
        .setExpiresAt(timestamp(expires))
        .setGrant(decision.grant())
        .setKeyId(key.keyId())
        .setAgentId(claims.getAgentId())
        .build();
  }

  private static Timestamp timestamp(long ms) {
    return Timestamp.newBuilder()
        .setSeconds(Math.floorDiv(ms, 1000))
        .setNanos((int) Math.floorMod(ms, 1000) * 1_000_000)
        .build();
  }
}
