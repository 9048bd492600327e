package io.perishable.authz.token;

import com.github.benmanes.caffeine.cache.Interner;
import io.perishable.proto.v1.TokenClaims;
import java.util.List;

/**
 * The claims of a token whose signature verified, as this service uses them: what the verified
 * cache holds for each live token, so it is kept small. Values that many tokens share (key id,
 * agent, scopes, models, upstream) are interned, so a million tokens of one agent with one
 * grant hold one copy of each; strings are immutable, so sharing them is safe. The issuer's
 * free-form labels are not kept: no decision reads them.
 *
 * @param tokenId the token's id (what logs, reports and revocations name)
 * @param ancestorIds token ids of the token's ancestors, root first; empty for a root token
 * @param scopes scope names from the operator's catalog
 * @param models models the request body may name; empty means any
 * @param maxTokensPerRequest ceiling on max_tokens × n, an unsigned 32-bit value; 0 = none
 * @param budgetTokens LLM tokens the token may spend over its life; 0 = no budget
 */
public record VerifiedToken(
    String tokenId,
    String keyId,
    long issuedAtMs,
    long expiresAtMs,
    String agentId,
    List<String> ancestorIds,
    List<String> scopes,
    List<String> models,
    int maxTokensPerRequest,
    String upstream,
    long budgetTokens) {

  // Weak: a value no live token refers to any more is collected with its last token.
  private static final Interner<String> STRINGS = Interner.newWeakInterner();
  private static final Interner<List<String>> LISTS = Interner.newWeakInterner();

  public VerifiedToken {
    ancestorIds = List.copyOf(ancestorIds);
    scopes = List.copyOf(scopes);
    models = List.copyOf(models);
  }

  /** The claims of {@code claims}, with shared values interned. */
  public static VerifiedToken of(TokenClaims claims) {
    return new VerifiedToken(claims.getTokenId(), STRINGS.intern(claims.getKeyId()),
        claims.getIssuedAtMs(), claims.getExpiresAtMs(), STRINGS.intern(claims.getAgentId()),
        claims.getAncestorIdsList().isEmpty() ? List.of()
            : List.copyOf(claims.getAncestorIdsList()),
        internList(claims.getScopesList()), internList(claims.getModelsList()),
        claims.getMaxTokensPerRequest(), STRINGS.intern(claims.getUpstream()),
        claims.getBudgetTokens());
  }

  /** The parent's token id (the last ancestor), or null for a root token. */
  public String parentTokenId() {
    return ancestorIds.isEmpty() ? null : ancestorIds.get(ancestorIds.size() - 1);
  }

  private static List<String> internList(List<String> values) {
    if (values.isEmpty()) {
      return List.of();
    }
    String[] interned = new String[values.size()];
    for (int i = 0; i < interned.length; i++) {
      interned[i] = STRINGS.intern(values.get(i));
    }
    return LISTS.intern(List.of(interned));
  }
}
