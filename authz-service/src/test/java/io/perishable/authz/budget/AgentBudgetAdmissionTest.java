package io.perishable.authz.budget;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.perishable.authz.DenialReason;
import io.perishable.authz.body.BodyFacts;
import io.perishable.authz.decision.AuthzRequest;
import io.perishable.authz.decision.Decision;
import io.perishable.authz.testing.MutableClock;
import io.perishable.authz.token.VerifiedToken;
import io.perishable.authz.upstream.UpstreamCredentials;
import io.perishable.controlplane.budget.AgentBudget;
import io.perishable.controlplane.budget.BudgetEndpoint;
import io.perishable.controlplane.budget.BudgetLedger;
import io.perishable.proto.v1.TokenClaims;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * An agent whose budget for the period is spent: the control plane refuses the lease as the
 * agent's, and the replica answers 429 {@code agent_budget_exhausted}, not {@code
 * budget_exhausted} (its token still has budget).
 */
class AgentBudgetAdmissionTest {
  private static final Duration TTL = Duration.ofSeconds(30);

  private final MutableClock clock = new MutableClock(Instant.parse("2026-11-25T00:00:00Z"));
  private final BudgetLedger ledger = new BudgetLedger(clock, TTL,
      List.of(new AgentBudget("summarizer", 1_000, Duration.ofDays(1))));
  private Server server;
  private ManagedChannel channel;
  private BudgetGate gate;

  @BeforeEach
  void start() throws Exception {
    String name = InProcessServerBuilder.generateName();
    server = InProcessServerBuilder.forName(name).directExecutor()
        .addService(new BudgetEndpoint(ledger, clock, TTL)).build().start();
    channel = InProcessChannelBuilder.forName(name).directExecutor().build();
    BudgetLeaseClient client = new BudgetLeaseClient(channel, "replica-a", Duration.ofSeconds(5),
        Duration.ofSeconds(10));
    gate = new BudgetGate(new ReservationBook(client, System::nanoTime, 500, 100,
        Duration.ofSeconds(5)), OptionalLong.empty());
  }

  @AfterEach
  void stop() throws Exception {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  private static Decision.Allow allow(String tokenId, String agent, long maxTokens) {
    VerifiedToken claims = VerifiedToken.of(TokenClaims.newBuilder().setTokenId(tokenId)
        .setAgentId(agent).setBudgetTokens(100_000).build());
    BodyFacts body = new BodyFacts(Optional.of("gpt-4o-mini"), OptionalLong.of(maxTokens),
        OptionalLong.empty(), OptionalLong.empty(), false, 100);
    return new Decision.Allow(claims, "llm:complete", (UpstreamCredentials.Upstream) null, body,
        Map.of(), Map.of(), List.of());
  }

  private Decision admit(String requestId, Decision.Allow allow) {
    return gate.admit(new AuthzRequest("POST", "/v1/chat/completions", Map.of(), new byte[0],
        requestId), allow).toCompletableFuture().join();
  }

  @Test
  void agentPeriodSpent_denied429AgentBudgetExhausted() {
    ledger.openIssued("a", "summarizer", null, 100_000, false);
    Decision.Allow allow = allow("a", "summarizer", 400);
    assertSame(allow, admit("r1", allow));
    assertSame(allow, admit("r2", allow)); // 1000 of the day's 1000 leased to this replica

    Decision.Deny deny = assertInstanceOf(Decision.Deny.class, admit("r3", allow));

    assertEquals(DenialReason.AGENT_BUDGET_EXHAUSTED, deny.reason());
    assertEquals(429, deny.reason().httpStatus());
    assertEquals("agent_budget_exhausted", deny.reason().code());
    assertTrue(deny.message().contains("summarizer"), deny.message());
  }

  @Test
  void tokenBudgetSpent_stillBudgetExhausted() {
    ledger.openIssued("b", "other", null, 600, false);
    Decision.Allow allow = allow("b", "other", 400);
    assertSame(allow, admit("r1", allow));

    Decision.Deny deny = assertInstanceOf(Decision.Deny.class, admit("r2", allow));

    assertEquals(DenialReason.BUDGET_EXHAUSTED, deny.reason());
  }
}
