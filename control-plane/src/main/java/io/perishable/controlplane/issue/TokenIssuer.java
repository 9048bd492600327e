package io.perishable.controlplane.issue;

import com.google.protobuf.Timestamp;
import io.perishable.controlplane.budget.BudgetLedger;
import io.perishable.controlplane.budget.BudgetRejectedException;
import io.perishable.controlplane.issuer.IssuerGrants;
import io.perishable.controlplane.keys.SigningKeyStore;
import io.perishable.controlplane.revocation.RevocationRules;
import io.perishable.controlplane.tokens.IndexedToken;
import io.perishable.controlplane.tokens.TokenIndex;
import io.perishable.proto.v1.IssueRequest;
import io.perishable.proto.v1.IssueResponse;
import io.perishable.proto.v1.TokenClaims;
import io.perishable.token.SigningKey;
import io.perishable.token.TokenCodec;
import io.perishable.token.TokenIds;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import java.util.logging.Logger;

/**
 * Turns an accepted Issue request into a signed token and records it in the {@link TokenIndex}.
 * A request carrying {@code parent_token} is delegation: the parent is verified first
 * ({@link ParentTokenVerifier}), then the child is decided against it
 * ({@link IssuancePolicy#decideChild}).
 *
 * <p><b>Issuer grants.</b> What the caller's principal may grant ({@link IssuerGrants}, first
 * matching entry) is a ceiling on top of the policy: scopes, models, upstream, ttl and the new
 * token's delegation depth. A static issuer without an entry is unlimited; a workload
 * principal without one may not issue at all. A delegated token is also held to the
 * {@code max_delegation_depth} of the principal that minted its root, so a workload granted
 * depth 1 cannot have its tokens delegated twice by their holders.
 */
public final class TokenIssuer {
  private static final Logger LOG = Logger.getLogger(TokenIssuer.class.getName());

  private final IssuancePolicy policy;
  private final SigningKeyStore keys;
  private final Clock clock;
  private final TokenIndex index;
  private final ParentTokenVerifier parents;
  private final List<IssuerGrants> grants;
  private final BudgetLedger budgets;

  public TokenIssuer(IssuancePolicy policy, SigningKeyStore keys, Clock clock, TokenIndex index,
      RevocationRules rules) {
    this(policy, keys, clock, index, rules, List.of(), null);
  }

  public TokenIssuer(IssuancePolicy policy, SigningKeyStore keys, Clock clock, TokenIndex index,
      RevocationRules rules, List<IssuerGrants> grants) {
    this(policy, keys, clock, index, rules, grants, null);
  }

  public TokenIssuer(IssuancePolicy policy, SigningKeyStore keys, Clock clock, TokenIndex index,
      RevocationRules rules, BudgetLedger budgets) {
    this(policy, keys, clock, index, rules, List.of(), budgets);
  }

  /**
   * @param grants per-principal ceilings, first match wins
   * @param budgets opens each budgeted token's account; null refuses budgets
   */
  public TokenIssuer(IssuancePolicy policy, SigningKeyStore keys, Clock clock, TokenIndex index,
      RevocationRules rules, List<IssuerGrants> grants, BudgetLedger budgets) {
    this.budgets = budgets;
    this.policy = policy;
    this.keys = keys;
    this.clock = clock;
    this.index = index;
    this.parents = new ParentTokenVerifier(keys, rules);
    this.grants = List.copyOf(grants);
  }

  /**
   * A signed token not yet indexed nor answered: the response to send and the index entry to
   * add once its {@code issued} audit record is durable.
   */
  public record Minted(IssueResponse response, IndexedToken indexed) {}

  /**
   * Validates, signs, indexes and returns the token at once; throws {@link
   * IssueRejectedException}. The control plane itself uses {@link #mint} and indexes only
   * after the audit record is durable.
   *
   * @param issuerId the authenticated issuer, or null for a delegated call that presented
   *     only a parent token (the endpoint refuses anything else without an issuer)
   */
  public IssueResponse issue(String issuerId, IssueRequest request) {
    Minted minted = mint(issuerId, request);
    index(minted);
    return minted.response();
  }

  /** Adds a minted token to the index. */
  public void index(Minted minted) {
    index.add(minted.indexed());
  }

  /**
   * Validates and signs a token without indexing it; throws {@link IssueRejectedException}.
   *
   * @param issuerId as for {@link #issue}
   */
  public Minted mint(String issuerId, IssueRequest request) {
    return mint(issuerId, false, request);
  }

  /**
   * As {@link #mint(String, IssueRequest)}, for a caller whose principal may be a workload.
   *
   * @param workload true when {@code issuerId} is a workload principal proven by a JWT
   */
  public Minted mint(String issuerId, boolean workload, IssueRequest request) {
    long now = clock.millis();
    IssuancePolicy.Decision decision;
    String mintedBy;
    TokenClaims parent = null;
    if (!request.getParentToken().isEmpty()) {
      parent = parents.verify(request.getParentToken(), now);
      decision = policy.decideChild(request, parent, now);
      mintedBy = issuerId != null ? issuerId : "token:" + parent.getTokenId();
      enforceRootDepth(parent, decision);
    } else {
      if (issuerId == null) {
        throw new IllegalStateException("a root token needs an authenticated issuer");
      }
      decision = policy.decide(request);
      mintedBy = issuerId;
    }
    if (issuerId != null) {
      enforceGrants(issuerId, workload, decision);
    }
    SigningKey key = keys.current();
    long expires = now + decision.ttl().toMillis();
    String tokenId = TokenIds.random();
    long budget = budget(tokenId, decision.agentId(), request, parent);
    TokenClaims claims = TokenClaims.newBuilder()
        .setTokenId(tokenId)
        .setKeyId(key.keyId())
        .setIssuedAtMs(now)
        .setExpiresAtMs(expires)
        .setAgentId(decision.agentId())
        .addAllAncestorIds(decision.ancestorIds())
        .addAllScopes(decision.grant().getScopesList())
        .addAllModels(decision.grant().getModelsList())
        .setMaxTokensPerRequest(decision.grant().getMaxTokensPerRequest())
        .setUpstream(decision.grant().getUpstream())
        .putAllLabels(decision.grant().getLabelsMap())
        .setBudgetTokens(budget)
        .build();
    String token = TokenCodec.encode(claims, key);
    LOG.fine(() -> "minted token_id=" + claims.getTokenId() + " agent=" + claims.getAgentId()
        + " minted_by=" + mintedBy + " depth=" + claims.getAncestorIdsCount() + " scopes="
        + claims.getScopesList() + " upstream=" + claims.getUpstream() + " ttl_ms="
        + decision.ttl().toMillis());
    IssueResponse response = IssueResponse.newBuilder()
        .setToken(token)
        .setTokenId(claims.getTokenId())
        .setIssuedAt(timestamp(now))
        .setExpiresAt(timestamp(expires))
        .setGrant(decision.grant().toBuilder().setBudgetTokens(budget))
        .setKeyId(key.keyId())
        .setAgentId(claims.getAgentId())
        .addAllAncestorIds(claims.getAncestorIdsList())
        .build();
    return new Minted(response, new IndexedToken(claims, mintedBy));
  }

  private void enforceGrants(String principal, boolean workload,
      IssuancePolicy.Decision decision) {
    Optional<IssuerGrants> grant = IssuerGrants.forPrincipal(grants, principal);
    if (grant.isEmpty()) {
      if (workload) {
        throw new IssueRejectedException(IssueRejectedException.Kind.PERMISSION_DENIED,
            "no_issuer_grant", "principal " + principal + " matches no "
                + "control_plane.issuer_grants entry, so it may not issue tokens");
      }
      return;
    }
    List<String> refusals = grant.get().refusals(decision.grant().getScopesList(),
        decision.grant().getModelsList(), decision.grant().getUpstream(), decision.ttl(),
        decision.ancestorIds().size());
    if (!refusals.isEmpty()) {
      throw new IssueRejectedException(IssueRejectedException.Kind.PERMISSION_DENIED,
          "issuer_grant_exceeded", "not grantable by principal " + principal + " (issuer_grants "
              + "entry '" + grant.get().principalPattern() + "'): " + String.join("; ", refusals));
    }
  }

  /** A child may sit no deeper than the grant of whoever minted its root token allows. */
  private void enforceRootDepth(TokenClaims parent, IssuancePolicy.Decision decision) {
    if (grants.isEmpty()) {
      return;
    }
    String rootId = parent.getAncestorIdsCount() == 0
        ? parent.getTokenId() : parent.getAncestorIds(0);
    Optional<String> root = index.get(rootId).map(IndexedToken::mintedBy);
    if (root.isEmpty()) {
      // A live parent implies a live, indexed root; not finding it means we cannot check.
      throw new IssueRejectedException(IssueRejectedException.Kind.PERMISSION_DENIED,
          "issuer_grant_exceeded", "the root token " + rootId + " of this delegation chain is "
              + "not in the token index, so its minter's max_delegation_depth cannot be checked");
    }
    Optional<Integer> limit = IssuerGrants.forPrincipal(grants, root.get())
        .flatMap(IssuerGrants::maxDelegationDepth);
    int depth = decision.ancestorIds().size();
    if (limit.isPresent() && depth > limit.get()) {
      throw new IssueRejectedException(IssueRejectedException.Kind.PERMISSION_DENIED,
          "issuer_grant_exceeded", "delegation depth " + depth + " exceeds max_delegation_depth "
              + limit.get() + " of principal " + root.get()
              + ", which minted the root token " + rootId);
    }
  }

  /**
   * Opens the new token's budget account; the budget to sign into its claims (0 = none). A root
   * token of an agent with a per-period budget always gets one (see {@link
   * BudgetLedger#openIssued(String, String, String, long, boolean)}).
   */
  private long budget(String tokenId, String agentId, IssueRequest request,
      TokenClaims parent) {
    boolean parentBudgeted = parent != null && parent.getBudgetTokens() != 0;
    if (request.getBudgetTokens() == 0 && !parentBudgeted
        && (budgets == null || !budgets.hasAgentBudget(agentId))) {
      return 0;
    }
    if (budgets == null) {
      throw IssueRejectedException.invalid("budgets are not enabled on this control plane");
    }
    try {
      return budgets.openIssued(tokenId, agentId, parentBudgeted ? parent.getTokenId() : null,
          request.getBudgetTokens(), request.getNarrowToParent());
    } catch (BudgetRejectedException e) {
      throw switch (e.code()) {
        case EXCEEDS_PARENT -> IssueRejectedException.denied("budget_tokens "
            + Long.toUnsignedString(request.getBudgetTokens()) + ": " + e.getMessage());
        case UNKNOWN_TOKEN -> IssueRejectedException.denied("the parent token's budget is not "
            + "known to this control plane (it restarted since the parent was issued); "
            + "issue a new root token");
        default -> IssueRejectedException.invalid("budget_tokens: " + e.getMessage());
      };
    }
  }

  /** A protobuf Timestamp for epoch milliseconds. */
  public static Timestamp timestamp(long ms) {
    return Timestamp.newBuilder()
        .setSeconds(Math.floorDiv(ms, 1000))
        .setNanos((int) Math.floorMod(ms, 1000) * 1_000_000)
        .build();
  }
}
