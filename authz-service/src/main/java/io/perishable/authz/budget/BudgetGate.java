package io.perishable.authz.budget;

import io.perishable.authz.DenialReason;
import io.perishable.authz.decision.AuthzRequest;
import io.perishable.authz.decision.Decision;
import io.perishable.authz.decision.DecisionEngine;
import io.perishable.authz.token.VerifiedToken;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * The last step of a Check for a token with a budget: reserves the allowed request's worst case
 * in the {@link ReservationBook}, or turns the allow into a denial (429 {@code
 * budget_exhausted}, 503 {@code budget_unavailable}, 403 {@code max_tokens_required}). Requests
 * of tokens without a budget, requests without a body and denials pass through unchanged.
 */
public final class BudgetGate {
  private final ReservationBook book;
  private final OptionalLong defaultMaxTokens;

  /**
   * @param defaultMaxTokens assumed for a request that names no max-token field; empty refuses
   *     such requests of budgeted tokens
   */
  public BudgetGate(ReservationBook book, OptionalLong defaultMaxTokens) {
    this.book = book;
    this.defaultMaxTokens = defaultMaxTokens;
  }

  public CompletionStage<Decision> admit(AuthzRequest request, Decision decision) {
    if (!(decision instanceof Decision.Allow allow) || allow.claims().budgetTokens() == 0
        || allow.body() == null) {
      return CompletableFuture.completedFuture(decision);
    }
    VerifiedToken claims = allow.claims();
    boolean anthropicStyle = request.headers().containsKey("x-api-key")
        || request.path().startsWith("/v1/messages");
    // Endpoints that generate nothing (embeddings) cost their input only.
    String path = request.path().split("\\?", 2)[0];
    OptionalLong worstCase = WorstCase.of(allow.body(),
        DecisionEngine.GENERATIVE_PATHS.contains(path) ? defaultMaxTokens : OptionalLong.of(0));
    if (worstCase.isEmpty()) {
      return CompletableFuture.completedFuture(new Decision.Deny(
          DenialReason.MAX_TOKENS_REQUIRED, "this token has a budget; set max_tokens (or "
          + "max_completion_tokens) so the request's cost is bounded", claims, anthropicStyle));
    }
    if (request.requestId().isEmpty()) {
      return CompletableFuture.completedFuture(new Decision.Deny(DenialReason.BUDGET_UNAVAILABLE,
          "the gateway gave the request no id to settle its budget by", claims,
          anthropicStyle));
    }
    long worst = worstCase.getAsLong();
    return book.reserve(claims.tokenId(), request.requestId(), worst).thenApply(a -> {
      if (a instanceof Admission.Admitted) {
        return decision;
      }
      if (a instanceof Admission.Exhausted e) {
        return new Decision.Deny(DenialReason.BUDGET_EXHAUSTED, "the token's budget cannot "
            + "cover this request: it may cost up to " + e.worstCase() + " tokens (prompt "
            + "bytes + max_tokens x n) and " + e.available() + " remain here; ask for fewer "
            + "max_tokens or a new token", claims, anthropicStyle);
      }
      if (a instanceof Admission.AgentExhausted e) {
        return new Decision.Deny(DenialReason.AGENT_BUDGET_EXHAUSTED, "the agent "
            + claims.agentId() + " has spent its token budget for the current period; this "
            + "request may cost up to " + e.worstCase() + " tokens and " + e.available()
            + " remain here", claims, anthropicStyle);
      }
      return new Decision.Deny(DenialReason.BUDGET_UNAVAILABLE, "the token has a budget and "
          + "the gateway could not lease any of it from the control plane", claims,
          anthropicStyle);
    });
  }
}
