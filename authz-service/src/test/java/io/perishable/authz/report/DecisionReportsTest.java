package io.perishable.authz.report;

import static io.perishable.authz.report.ReportFixtures.PROVIDER_KEY;
import static io.perishable.authz.report.ReportFixtures.allow;
import static io.perishable.authz.report.ReportFixtures.deny;
import static io.perishable.authz.report.ReportFixtures.request;
import static io.perishable.authz.report.ReportFixtures.tokenId;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.perishable.authz.DenialReason;
import io.perishable.authz.body.BodyFacts;
import io.perishable.authz.decision.AuthzRequest;
import io.perishable.authz.decision.Decision;
import io.perishable.proto.v1.DecisionReport;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Optional;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

/** What a decision report says, and what it never says. */
class DecisionReportsTest {
  @Test
  void allow_reportsIdsScopeModelAndUpstream_withPathWithoutQuery() throws Exception {
    AuthzRequest req = request(7);
    DecisionReport r = DecisionReports.of(req, allow(7), 183_400, 1_700_000_000_000L);

    assertEquals(true, r.getAllowed());
    assertEquals(tokenId(7), r.getTokenId());
    assertEquals("agent-1", r.getAgentId());
    assertEquals(tokenId(2_000_000), r.getParentTokenId(), "parent = the last ancestor");
    assertEquals("POST", r.getMethod());
    assertEquals("/v1/chat/completions", r.getPath());
    assertEquals("gpt-4o-mini", r.getModel());
    assertEquals("llm:complete", r.getScope());
    assertEquals("openai", r.getUpstream());
    assertEquals("req-7", r.getRequestId());
    assertEquals(183, r.getLatencyUs());
    assertEquals(1_700_000_000_000L, r.getTimeMs());
    assertEquals(0, r.getHttpStatus(), "the upstream's status comes later, in a response record");
    assertEquals(HexFormat.of().formatHex(
        MessageDigest.getInstance("SHA-256").digest(req.body())), r.getPromptHash());
  }

  @Test
  void deny_reportsReasonAndStatus() {
    DecisionReport r = DecisionReports.of(request(8), deny(8), 90_000, 1L);
    assertFalse(r.getAllowed());
    assertEquals(DenialReason.MODEL_NOT_ALLOWED.code(), r.getReasonCode());
    assertEquals(403, r.getHttpStatus());
    assertEquals(tokenId(8), r.getTokenId());
  }

  @Test
  void deny_afterTheBodyWasParsed_reportsItsModel() {
    Decision.Deny deny = ((Decision.Deny) deny(8)).withBody(new BodyFacts(Optional.of("gpt-4o"),
        OptionalLong.of(64), OptionalLong.empty(), OptionalLong.empty(), false, 80));
    assertEquals("gpt-4o", DecisionReports.of(request(8), deny, 1, 1L).getModel());
    assertEquals("", DecisionReports.of(request(8), deny(8), 1, 1L).getModel());
  }

  @Test
  void deny_withoutVerifiedToken_orUnreadableRequest_stillReports() {
    Decision anonymous = new Decision.Deny(DenialReason.TOKEN_MISSING, "no token", null, false);
    DecisionReport r = DecisionReports.of(null, anonymous, 5_000, 1L);
    assertEquals("token_missing", r.getReasonCode());
    assertEquals(401, r.getHttpStatus());
    assertEquals("", r.getTokenId());
    assertEquals("", r.getPromptHash());
  }

  @Test
  void report_neverCarriesTheTokenTheKeyTheBodyOrTheQuery() {
    AuthzRequest req = request(9);
    String wire = DecisionReports.of(req, allow(9), 1, 1L).toByteString()
        .toString(StandardCharsets.ISO_8859_1);
    assertFalse(wire.contains("prs_"), "token");
    assertFalse(wire.contains(PROVIDER_KEY), "provider key");
    assertFalse(wire.contains("hi 9"), "body");
    assertFalse(wire.contains("secret-9"), "query string");
  }
}
