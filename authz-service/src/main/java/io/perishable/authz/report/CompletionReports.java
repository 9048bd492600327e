package io.perishable.authz.report;

import io.perishable.authz.budget.MeteredResponse;
import io.perishable.proto.v1.DecisionReport;
import io.perishable.proto.v1.ResponseMetering;

/**
 * Turns a metered response into the report the control plane records as a {@code completion}
 * audit record (without its seq, which the spool assigns): the request and token ids that join
 * it to the request's {@code used} record, the SHA-256 of the response body, and the usage the
 * provider reported. A hash and counts only: never the response text.
 */
final class CompletionReports {
  private CompletionReports() {}

  static DecisionReport of(MeteredResponse response, long nowMs) {
    ResponseMetering.Builder m = ResponseMetering.newBuilder()
        .setCompletionHash(response.completionHash())
        .setUpstreamStatus(Math.max(0, response.status()));
    if (!response.complete()) {
      m.setOutcome(ResponseMetering.Outcome.CUT);
    } else if (response.usage().isPresent()) {
      m.setOutcome(ResponseMetering.Outcome.USAGE)
          .setInputTokens(response.usage().get().input())
          .setOutputTokens(response.usage().get().output());
    } else {
      m.setOutcome(ResponseMetering.Outcome.NO_USAGE);
    }
    return DecisionReport.newBuilder()
        .setTimeMs(nowMs)
        .setAllowed(true)
        .setTokenId(response.tokenId())
        .setRequestId(response.requestId())
        .setUpstream(response.upstream())
        .setMetering(m)
        .build();
  }
}
