package io.perishable.authz.budget;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;

import io.perishable.authz.DenialReason;
import io.perishable.authz.body.BodyFacts;
import io.perishable.authz.decision.AuthzRequest;
import io.perishable.authz.decision.Decision;
import io.perishable.authz.token.VerifiedToken;
import io.perishable.authz.upstream.UpstreamCredentials;
import io.perishable.proto.v1.TokenClaims;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.junit.jupiter.api.Test;

class BudgetGateTest {
  /** A control plane with a fixed amount left to lease, answering at once. */
  private static final class FixedLeases implements LeaseSource {
    long left;
    boolean down;

    FixedLeases(long left) {
      this.left = left;
    }

    @Override
    public CompletionStage<Optional<Grant>> acquire(String tokenId, long amount) {
      if (down) {
        return CompletableFuture.failedFuture(new IllegalStateException("down"));
      }
      long granted = Math.min(amount, left);
      left -= granted;
      return CompletableFuture.completedFuture(granted == 0 ? Optional.empty()
          : Optional.of(new Grant("l" + left, granted, Duration.ofSeconds(30))));
    }
  }

  private final FixedLeases leases = new FixedLeases(1000);
  private final ReservationBook book =
      new ReservationBook(leases, System::nanoTime, 500, 100, Duration.ofSeconds(5));
  private final BudgetGate gate = new BudgetGate(book, OptionalLong.empty());

  private static AuthzRequest request(String id) {
    return request(id, "/v1/chat/completions");
  }

  private static AuthzRequest request(String id, String path) {
    return new AuthzRequest("POST", path, Map.of(), new byte[0], id);
  }

  private static Decision.Allow allow(long budget, OptionalLong maxTokens, int bodyBytes) {
    VerifiedToken claims = VerifiedToken.of(
        TokenClaims.newBuilder().setTokenId("tok").setBudgetTokens(budget).build());
    BodyFacts body = new BodyFacts(Optional.of("gpt-4o-mini"), maxTokens, OptionalLong.empty(),
        OptionalLong.empty(), false, bodyBytes);
    return new Decision.Allow(claims, "llm:complete", (UpstreamCredentials.Upstream) null, body,
        Map.of(), Map.of(), List.of());
  }

  private Decision admit(String id, Decision decision) {
    return gate.admit(request(id), decision).toCompletableFuture().join();
  }

  @Test
  void noBudget_passesWithoutReserving() {
    Decision.Allow allow = allow(0, OptionalLong.of(100), 50);
    assertSame(allow, admit("r1", allow));
    assertEquals(1000, leases.left, "no lease asked for");
  }

  @Test
  void budget_worstCaseReserved_thenExhausted429() {
    Decision.Allow allow = allow(1000, OptionalLong.of(400), 100);
    assertSame(allow, admit("r1", allow));
    assertSame(allow, admit("r2", allow));

    Decision third = admit("r3", allow);

    Decision.Deny deny = assertInstanceOf(Decision.Deny.class, third);
    assertEquals(DenialReason.BUDGET_EXHAUSTED, deny.reason());
    assertEquals(429, deny.reason().httpStatus());
  }

  @Test
  void budget_noMaxTokens_deniedMaxTokensRequired() {
    Decision d = admit("r1", allow(1000, OptionalLong.empty(), 100));
    assertEquals(DenialReason.MAX_TOKENS_REQUIRED,
        assertInstanceOf(Decision.Deny.class, d).reason());
  }

  @Test
  void budget_noMaxTokensButConfiguredDefault_reservesBodyPlusDefaultTimesN() {
    BudgetGate withDefault = new BudgetGate(book, OptionalLong.of(256));
    VerifiedToken claims = VerifiedToken.of(
        TokenClaims.newBuilder().setTokenId("tok").setBudgetTokens(1000).build());
    BodyFacts body = new BodyFacts(Optional.of("gpt-4o-mini"), OptionalLong.empty(),
        OptionalLong.empty(), OptionalLong.of(2), false, 100);
    Decision.Allow allow = new Decision.Allow(claims, "llm:complete",
        (UpstreamCredentials.Upstream) null, body, Map.of(), Map.of(), List.of());

    Decision d = withDefault.admit(request("r1"), allow).toCompletableFuture().join();

    assertSame(allow, d);
    assertEquals(100 + 256 * 2, book.leaseReports("tok").get(0).inFlight());
  }

  @Test
  void budget_namedMaxTokensWinsOverTheDefault() {
    BudgetGate withDefault = new BudgetGate(book, OptionalLong.of(256));

    withDefault.admit(request("r1"), allow(1000, OptionalLong.of(10), 100))
        .toCompletableFuture().join();

    assertEquals(110, book.leaseReports("tok").get(0).inFlight());
  }

  @Test
  void budget_embeddingsWithoutMaxTokens_reserveTheirInputOnly() {
    Decision.Allow allow = allow(1000, OptionalLong.empty(), 300);

    Decision d = gate.admit(request("e1", "/v1/embeddings"), allow).toCompletableFuture().join();

    assertSame(allow, d);
    assertEquals(300, book.leaseReports("tok").get(0).inFlight());
  }

  @Test
  void budget_controlPlaneDown_budgetUnavailable503() {
    leases.down = true;
    Decision d = admit("r1", allow(1000, OptionalLong.of(10), 10));
    Decision.Deny deny = assertInstanceOf(Decision.Deny.class, d);
    assertEquals(DenialReason.BUDGET_UNAVAILABLE, deny.reason());
    assertEquals(503, deny.reason().httpStatus());
  }

  @Test
  void settler_reportedUsageFreesTheRest_cutChargesWorstCase_errorChargesNothing() {
    BudgetSettler settler = new BudgetSettler(book);
    Decision.Allow allow = allow(1000, OptionalLong.of(400), 100);
    admit("ok", allow);
    admit("cut", allow);
    settler.metered(new MeteredResponse("ok", "tok", "openai", 200, true,
        Optional.of(new ReportedUsage(20, 30)), ""));
    settler.metered(new MeteredResponse("cut", "tok", "openai", 200, false, Optional.empty(),
        ""));
    admit("err", allow);
    settler.metered(new MeteredResponse("err", "tok", "openai", 500, true, Optional.empty(),
        ""));

    long used = book.leaseReports("tok").stream().mapToLong(ReservationBook.LeaseReport::used)
        .sum();
    assertEquals(50 + 500, used);
  }
}
