package io.perishable.authz.report;

import io.perishable.authz.decision.AuthzRequest;
import io.perishable.authz.decision.Decision;
import io.perishable.authz.token.VerifiedToken;
import io.perishable.proto.v1.DecisionReport;

/**
 * Turns a decision into the {@link DecisionReport} the control plane records (without its seq,
 * which the spool assigns). Ids and a hash only: never the token, a provider key (the allow's
 * headers) or the body, and the path without its query string.
 */
final class DecisionReports {
  private DecisionReports() {}

  static DecisionReport of(AuthzRequest request, Decision decision, long elapsedNanos,
      long nowMs) {
    DecisionReport.Builder r = DecisionReport.newBuilder()
        .setTimeMs(nowMs)
        .setLatencyUs(Math.max(0, elapsedNanos / 1000));
    if (request != null) {
      r.setMethod(nullToEmpty(request.method()))
          .setPath(withoutQuery(request.path()))
          .setRequestId(nullToEmpty(request.requestId()))
          .setPromptHash(PromptHash.of(request.body()));
    }
    VerifiedToken claims;
    if (decision instanceof Decision.Allow allow) {
      claims = allow.claims();
      r.setAllowed(true).setScope(nullToEmpty(allow.scope()));
      if (allow.upstream() != null) {
        r.setUpstream(allow.upstream().name());
      }
      if (allow.body() != null) {
        allow.body().model().ifPresent(r::setModel);
      }
    } else {
      Decision.Deny deny = (Decision.Deny) decision;
      claims = deny.claims();
      r.setAllowed(false)
          .setReasonCode(deny.reason().code())
          .setHttpStatus(deny.reason().httpStatus());
      if (claims != null) {
        r.setUpstream(claims.upstream());
      }
      if (deny.body() != null) {
        deny.body().model().ifPresent(r::setModel);
      }
    }
    if (claims != null) {
      r.setTokenId(claims.tokenId()).setAgentId(claims.agentId());
      if (claims.parentTokenId() != null) {
        r.setParentTokenId(claims.parentTokenId());
      }
    }
    return r.build();
  }

  static String withoutQuery(String path) {
    if (path == null) {
      return "";
    }
    int q = path.indexOf('?');
    return q < 0 ? path : path.substring(0, q);
  }

  private static String nullToEmpty(String s) {
    return s == null ? "" : s;
  }
}
