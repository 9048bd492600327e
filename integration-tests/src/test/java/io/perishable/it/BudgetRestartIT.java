package io.perishable.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.protobuf.Duration;
import io.perishable.proto.v1.BudgetStatus;
import io.perishable.proto.v1.GetUsageRequest;
import io.perishable.proto.v1.IssueRequest;
import io.perishable.proto.v1.IssueResponse;
import java.net.http.HttpResponse;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Budgets through real Envoy across a control-plane restart: a budgeted token keeps working
 * with what it spent preserved (the ledger is rebuilt from the audit log), and an agent whose
 * budget for the period is spent is refused with 429 {@code agent_budget_exhausted}, before
 * and after the restart.
 */
class BudgetRestartIT {
  private static final java.time.Duration WAIT = java.time.Duration.ofSeconds(60);

  private static IssueResponse issue(ReplicatedStack stack, String agent, long budget) {
    return stack.operator().issue(IssueRequest.newBuilder().setAgentId(agent)
        .addScopes("llm:complete").setTtl(Duration.newBuilder().setSeconds(900))
        .setBudgetTokens(budget).build());
  }

  /** Chats through replica 0 until one answers 200 (the replica may be reconnecting). */
  private static HttpResponse<String> chatUntilOk(ReplicatedStack stack, String token) {
    AtomicReference<HttpResponse<String>> last = new AtomicReference<>();
    ReplicatedStack.await("a 200 through Envoy", WAIT, () -> {
      last.set(stack.chat(0, token));
      return last.get().statusCode() == 200;
    });
    return last.get();
  }

  private static long usage(HttpResponse<String> r) {
    JsonNode body = ReplicatedStack.json(r.body());
    return body.at("/usage/prompt_tokens").asLong() + body.at("/usage/completion_tokens")
        .asLong();
  }

  /** Waits until replicas have returned every lease on the query's token or agent. */
  private static BudgetStatus settled(ReplicatedStack stack, GetUsageRequest query) {
    ReplicatedStack.await("every lease returned", WAIT,
        () -> stack.budgets().getUsage(query).getLeased() == 0);
    return stack.budgets().getUsage(query);
  }

  @Test
  void controlPlaneRestart_tokenKeepsItsSpend_agentBudgetStillRefuses() throws Exception {
    try (ReplicatedStack stack = new ReplicatedStack(1)) {
      IssueResponse token = issue(stack, "restart-it", 50_000);
      long reported = 0;
      for (int i = 0; i < 3; i++) {
        HttpResponse<String> r = stack.chat(0, token.getToken());
        assertEquals(200, r.statusCode(), r.body());
        reported += usage(r);
      }
      GetUsageRequest byToken = GetUsageRequest.newBuilder()
          .setTokenId(token.getTokenId()).build();
      BudgetStatus before = settled(stack, byToken);
      assertEquals(reported, before.getSpent(), "spent = what the provider reported");

      // The agent spends its day's budget: the first 429 says it is the agent's.
      IssueResponse agentToken = issue(stack, ReplicatedStack.BUDGETED_AGENT, 50_000);
      HttpResponse<String> refused = null;
      for (int i = 0; i < 200 && refused == null; i++) {
        HttpResponse<String> r = stack.chat(0, agentToken.getToken());
        if (r.statusCode() != 200) {
          refused = r;
        }
      }
      assertTrue(refused != null, "the agent's budget of " + ReplicatedStack.AGENT_BUDGET
          + " tokens ran out within 200 requests");
      assertEquals(429, refused.statusCode(), refused.body());
      assertEquals("agent_budget_exhausted",
          ReplicatedStack.json(refused.body()).at("/error/code").asText(), refused.body());
      GetUsageRequest byAgent = GetUsageRequest.newBuilder()
          .setAgentId(ReplicatedStack.BUDGETED_AGENT).build();
      BudgetStatus agentBefore = settled(stack, byAgent);
      assertTrue(agentBefore.getSpent() > 0
          && agentBefore.getSpent() <= ReplicatedStack.AGENT_BUDGET, agentBefore.toString());

      stack.restartControlPlane();

      assertEquals(before, stack.budgets().getUsage(byToken), "the token's spend survived");
      assertEquals(agentBefore, stack.budgets().getUsage(byAgent), "so did the agent's");
      HttpResponse<String> after = chatUntilOk(stack, token.getToken());
      long afterUsage = usage(after);
      assertEquals(reported + afterUsage, settled(stack, byToken).getSpent(),
          "the same token works and is charged on top of what it had spent");
      HttpResponse<String> stillRefused = stack.chat(0, agentToken.getToken());
      assertEquals(429, stillRefused.statusCode(), stillRefused.body());
      assertEquals("agent_budget_exhausted",
          ReplicatedStack.json(stillRefused.body()).at("/error/code").asText());
    }
  }
}
