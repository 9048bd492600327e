package io.perishable.controlplane.lookup;

import io.perishable.controlplane.issue.TokenIssuer;
import io.perishable.controlplane.revocation.RevocationRules;
import io.perishable.controlplane.revocation.RuleMatch;
import io.perishable.controlplane.tokens.IndexedToken;
import io.perishable.controlplane.tokens.TokenIndex;
import io.perishable.proto.v1.GetLineageResponse;
import io.perishable.proto.v1.Grant;
import io.perishable.proto.v1.ListTokensRequest;
import io.perishable.proto.v1.ListTokensResponse;
import io.perishable.proto.v1.RevocationRule;
import io.perishable.proto.v1.RevocationSummary;
import io.perishable.proto.v1.TokenClaims;
import io.perishable.proto.v1.TokenInfo;
import io.perishable.proto.v1.TokenState;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.Base64;
import java.util.List;
import java.util.Optional;

/**
 * Answers the token API's read calls from the {@link TokenIndex} and the live
 * {@link RevocationRules}. A token's state is computed when asked: EXPIRED once past its
 * expiry, else REVOKED when a live rule covers it, else LIVE.
 */
public final class TokenLookup {
  public static final int DEFAULT_PAGE_SIZE = 100;
  public static final int MAX_PAGE_SIZE = 1000;
  private static final String PAGE_TOKEN_VERSION = "v1";

  private final TokenIndex index;
  private final RevocationRules rules;
  private final Clock clock;

  public TokenLookup(TokenIndex index, RevocationRules rules, Clock clock) {
    this.index = index;
    this.rules = rules;
    this.clock = clock;
  }

  /** The indexed token with this id, with its state now. */
  public Optional<TokenInfo> get(String tokenId) {
    long now = clock.millis();
    List<RevocationRule> live = rules.live(now);
    return index.get(tokenId).map(t -> info(t, now, live));
  }

  /** One page of tokens, oldest first; throws {@link InvalidQueryException}. */
  public ListTokensResponse list(ListTokensRequest request) {
    if (request.getPageSize() > MAX_PAGE_SIZE) {
      throw new InvalidQueryException("page_size " + request.getPageSize() + " exceeds "
          + MAX_PAGE_SIZE);
    }
    int size = request.getPageSize() == 0 ? DEFAULT_PAGE_SIZE : request.getPageSize();
    Optional<TokenIndex.Cursor> cursor = request.getPageToken().isEmpty()
        ? Optional.empty() : Optional.of(parsePageToken(request.getPageToken()));
    Optional<String> agent = request.getAgentId().isEmpty()
        ? Optional.empty() : Optional.of(request.getAgentId());
    long now = clock.millis();
    List<RevocationRule> live = rules.live(now);
    TokenState wanted = request.getState();
    TokenIndex.Page page = index.page(agent, cursor, size, t -> wanted
        == TokenState.TOKEN_STATE_UNSPECIFIED || info(t, now, live).getState() == wanted);
    ListTokensResponse.Builder response = ListTokensResponse.newBuilder();
    page.tokens().forEach(t -> response.addTokens(info(t, now, live)));
    page.next().ifPresent(c -> response.setNextPageToken(pageToken(c)));
    return response.build();
  }

  /** The token, its ancestors (root first) and its descendants (breadth first). */
  public Optional<GetLineageResponse> lineage(String tokenId) {
    Optional<IndexedToken> token = index.get(tokenId);
    if (token.isEmpty()) {
      return Optional.empty();
    }
    long now = clock.millis();
    List<RevocationRule> live = rules.live(now);
    GetLineageResponse.Builder response =
        GetLineageResponse.newBuilder().setToken(info(token.get(), now, live));
    for (String ancestorId : token.get().claims().getAncestorIdsList()) {
      response.addAncestors(index.get(ancestorId).map(a -> info(a, now, live))
          .orElse(TokenInfo.newBuilder().setTokenId(ancestorId).build()));
    }
    index.descendants(tokenId).forEach(d -> response.addDescendants(info(d, now, live)));
    return Optional.of(response.build());
  }

  private static TokenInfo info(IndexedToken token, long now, List<RevocationRule> live) {
    TokenClaims c = token.claims();
    TokenInfo.Builder info = TokenInfo.newBuilder()
        .setTokenId(c.getTokenId())
        .setAgentId(c.getAgentId())
        .setIssuedAt(TokenIssuer.timestamp(c.getIssuedAtMs()))
        .setExpiresAt(TokenIssuer.timestamp(c.getExpiresAtMs()))
        .addAllAncestorIds(c.getAncestorIdsList())
        .setGrant(Grant.newBuilder()
            .addAllScopes(c.getScopesList())
            .addAllModels(c.getModelsList())
            .setMaxTokensPerRequest(c.getMaxTokensPerRequest())
            .setUpstream(c.getUpstream())
            .putAllLabels(c.getLabelsMap()))
        .setKeyId(c.getKeyId())
        .setMintedBy(token.mintedBy());
    if (now >= c.getExpiresAtMs()) {
      return info.setState(TokenState.TOKEN_STATE_EXPIRED).build();
    }
    for (RevocationRule rule : live) {
      if (RuleMatch.matches(rule, c)) {
        return info.setState(TokenState.TOKEN_STATE_REVOKED)
            .setRevocation(RevocationSummary.newBuilder()
                .setRuleId(rule.getRuleId())
                .setReason(rule.getReason())
                .setRevokedAt(TokenIssuer.timestamp(rule.getCreatedAtMs())))
            .build();
      }
    }
    return info.setState(TokenState.TOKEN_STATE_LIVE).build();
  }

  private static String pageToken(TokenIndex.Cursor cursor) {
    String raw = PAGE_TOKEN_VERSION + ":" + cursor.issuedAtMs() + ":" + cursor.tokenId();
    return Base64.getUrlEncoder().withoutPadding()
        .encodeToString(raw.getBytes(StandardCharsets.UTF_8));
  }

  private static TokenIndex.Cursor parsePageToken(String pageToken) {
    try {
      String raw = new String(Base64.getUrlDecoder().decode(pageToken), StandardCharsets.UTF_8);
      String[] parts = raw.split(":", 3);
      if (parts.length != 3 || !parts[0].equals(PAGE_TOKEN_VERSION) || parts[2].isEmpty()) {
        throw new IllegalArgumentException("bad shape");
      }
      return new TokenIndex.Cursor(Long.parseLong(parts[1]), parts[2]);
    } catch (IllegalArgumentException e) {
      throw new InvalidQueryException(
          "page_token is not one this server handed out; start again without it");
    }
  }
}
