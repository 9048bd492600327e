package io.perishable.authz.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.perishable.authz.budget.MeteredResponse;
import io.perishable.authz.budget.ReportedUsage;
import io.perishable.proto.v1.DecisionReport;
import io.perishable.proto.v1.ResponseMetering;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** What a completion report says: ids, the response's hash and usage, never its text. */
class CompletionReportsTest {
  private static final String HASH = "0f".repeat(32);

  private static MeteredResponse metered(int status, boolean complete,
      Optional<ReportedUsage> usage) {
    return new MeteredResponse("req-9", "tok-9", "anthropic", status, complete, usage, HASH);
  }

  @Test
  void usage_reportsTheHashTheUsageAndTheIdsThatJoinTheDecision() {
    DecisionReport r = CompletionReports.of(
        metered(200, true, Optional.of(new ReportedUsage(11, 22))), 1_700_000_000_000L);

    assertTrue(r.hasMetering());
    assertEquals("req-9", r.getRequestId());
    assertEquals("tok-9", r.getTokenId());
    assertEquals("anthropic", r.getUpstream());
    assertEquals(1_700_000_000_000L, r.getTimeMs());
    ResponseMetering m = r.getMetering();
    assertEquals(ResponseMetering.Outcome.USAGE, m.getOutcome());
    assertEquals(HASH, m.getCompletionHash());
    assertEquals(200, m.getUpstreamStatus());
    assertEquals(11, m.getInputTokens());
    assertEquals(22, m.getOutputTokens());
    assertEquals("", r.getPromptHash(), "the prompt's hash is on the decision");
  }

  @Test
  void noUsage_andCut_sayHowTheResponseEnded_withoutUsage() {
    ResponseMetering noUsage = CompletionReports.of(
        metered(429, true, Optional.empty()), 1).getMetering();
    assertEquals(ResponseMetering.Outcome.NO_USAGE, noUsage.getOutcome());
    assertEquals(429, noUsage.getUpstreamStatus());

    ResponseMetering cut = CompletionReports.of(
        metered(200, false, Optional.of(new ReportedUsage(5, 6))), 1).getMetering();
    assertEquals(ResponseMetering.Outcome.CUT, cut.getOutcome());
    assertEquals(0, cut.getOutputTokens(), "a cut stream's usage is not the provider's last word");
    assertEquals(HASH, cut.getCompletionHash(), "the hash of the bytes that did pass");
  }

  @Test
  void report_neverCarriesTheResponseText() {
    String wire = CompletionReports.of(metered(200, true, Optional.empty()), 1)
        .toByteString().toString(StandardCharsets.ISO_8859_1);
    assertFalse(wire.contains("prs_"));
    assertEquals(1, wire.split(HASH, -1).length - 1, "the hash, once");
  }
}
