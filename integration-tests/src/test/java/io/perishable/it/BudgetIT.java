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
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * Token budgets through real Envoy and several authz replicas: clients race one budget across
 * the replicas until it is exhausted; the control plane's spend is then exactly the usage the
 * (fake) provider reported, and never more than the budget.
 */
class BudgetIT {
  private static final long BUDGET = 3_000;

  @Test
  void clientsRaceABudgetThroughThreeReplicas_spendEqualsReportedUsage() throws Exception {
    try (ReplicatedStack stack = new ReplicatedStack(3)) {
      IssueResponse token = stack.operator().issue(IssueRequest.newBuilder()
          .setAgentId("budget-it").addScopes("llm:complete")
          .setTtl(Duration.newBuilder().setSeconds(600)).setBudgetTokens(BUDGET).build());
      assertEquals(BUDGET, token.getGrant().getBudgetTokens());
      AtomicLong reported = new AtomicLong();
      AtomicLong exhausted = new AtomicLong();
      AtomicLong ok = new AtomicLong();
      int clients = 6;
      ExecutorService pool = Executors.newFixedThreadPool(clients);
      try {
        List<Future<?>> done = new ArrayList<>();
        for (int c = 0; c < clients; c++) {
          int client = c;
          done.add(pool.submit(() -> {
            for (int i = 0; i < 400; i++) {
              HttpResponse<String> r = stack.chat((client + i) % stack.replicas(),
                  token.getToken());
              JsonNode body = ReplicatedStack.json(r.body());
              if (r.statusCode() == 429) {
                assertEquals("budget_exhausted", body.at("/error/code").asText(), r.body());
                exhausted.incrementAndGet();
                if (exhausted.get() > 3 * clients) {
                  return null;
                }
                continue;
              }
              assertEquals(200, r.statusCode(), r.body());
              ok.incrementAndGet();
              reported.addAndGet(body.at("/usage/prompt_tokens").asLong()
                  + body.at("/usage/completion_tokens").asLong());
            }
            return null;
          }));
        }
        for (Future<?> f : done) {
          f.get(180, TimeUnit.SECONDS);
        }
      } finally {
        pool.shutdownNow();
      }
      assertTrue(ok.get() > 0 && exhausted.get() > 0,
          "the race must admit some requests and run out: ok " + ok + ", 429 " + exhausted);

      // Idle replicas return their leases; then every settled request is spent for good.
      GetUsageRequest query = GetUsageRequest.newBuilder()
          .setTokenId(token.getTokenId()).build();
      ReplicatedStack.await("every lease returned", java.time.Duration.ofSeconds(60),
          () -> stack.budgets().getUsage(query).getLeased() == 0);
      BudgetStatus status = stack.budgets().getUsage(query);
      assertEquals(reported.get(), status.getSpent(), "spent = what the provider reported");
      assertTrue(status.getSpent() <= BUDGET);
    }
  }
}
