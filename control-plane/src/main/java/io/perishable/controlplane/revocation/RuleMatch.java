package io.perishable.controlplane.revocation;

import io.perishable.proto.v1.RevocationRule;
import io.perishable.proto.v1.TokenClaims;

/**
 * Whether a rule covers a token: the control plane's reference reading of
 * {@code RevocationRule}. authz-service's {@code RevocationSet} answers the same question
 * with indexes, for the hot path.
 */
public final class RuleMatch {
  private RuleMatch() {}

  public static boolean matches(RevocationRule rule, TokenClaims claims) {
    if (rule.getIssuedBeforeMs() != 0 && claims.getIssuedAtMs() >= rule.getIssuedBeforeMs()) {
      return false;
    }
    switch (rule.getSelectorCase()) {
      case TOKEN_ID:
        return rule.getTokenId().equals(claims.getTokenId())
            || claims.getAncestorIdsList().contains(rule.getTokenId());
      case AGENT_ID:
        return rule.getAgentId().equals(claims.getAgentId());
      case SCOPE:
        return claims.getScopesList().contains(rule.getScope());
      case ISSUED_WITHIN:
        return claims.getIssuedAtMs() >= rule.getIssuedWithin().getFromMs()
            && claims.getIssuedAtMs() < rule.getIssuedWithin().getUntilMs();
      default:
        // A rule without a selector matches nothing (the control plane never makes one).
        return false;
    }
  }
}
