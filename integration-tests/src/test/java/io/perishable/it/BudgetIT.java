package io.perishable.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.protobuf.Duration;
import io.perishable.controlplane.budget.BudgetLedger;
import io.perishable.controlplane.budget.Lease;
import io.perishable.proto.v1.BudgetStatus;
import io.perishable.proto.v1.GetUsageRequest;
import io.perishable.proto.v1.IssueRequest;
import io.perishable.proto.v1.IssueResponse;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * Token budgets through real Envoy and several authz replicas: clients race one budget across
 * the replicas until it is exhausted; the control plane's spend is then exactly the usage the
 * (fake) provider reported, and never more than the budget. A replica killed (SIGKILL) while
 * holding a lease loses only what it last reported: the rest of its lease is leasable again
 * once the lease expires.
 */
class BudgetIT {
  private static final long BUDGET = 3_000;
  private static final java.time.Duration LEASE_TTL = java.time.Duration.ofSeconds(4);
  private static final java.time.Duration RENEW_INTERVAL = java.time.Duration.ofMillis(500);

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

  @Test
  void replicaKilledHoldingALease_budgetRecoveredAfterLeaseExpiry() throws Exception {
    long budget = 4_000;
    ReplicatedStack.Settings settings = new ReplicatedStack.Settings(
        List.of("lease_ttl: " + LEASE_TTL.toSeconds() + "s"),
        // One chunk is the whole budget: while replica 0 holds it, replica 1 gets nothing.
        List.of("budget:", "  lease_chunk: " + budget,
            "  renew_interval: " + RENEW_INTERVAL.toMillis() + "ms"),
        Set.of(0));
    try (ReplicatedStack stack = new ReplicatedStack(2, settings)) {
      IssueResponse token = stack.operator().issue(IssueRequest.newBuilder()
          .setAgentId("budget-kill-it").addScopes("llm:complete")
          .setTtl(Duration.newBuilder().setSeconds(600)).setBudgetTokens(budget).build());
      GetUsageRequest query = GetUsageRequest.newBuilder()
          .setTokenId(token.getTokenId()).build();
      long worstCase = ReplicatedStack.CHAT_BODY.getBytes(StandardCharsets.UTF_8).length + 16;

      // Replica 0 (its own process) leases the whole budget and settles three requests.
      long usedOnA = 0;
      for (int i = 0; i < 3; i++) {
        HttpResponse<String> r = stack.chat(0, token.getToken());
        assertEquals(200, r.statusCode(), r.body());
        JsonNode body = ReplicatedStack.json(r.body());
        usedOnA += body.at("/usage/prompt_tokens").asLong()
            + body.at("/usage/completion_tokens").asLong();
      }
      assertTrue(usedOnA > 0 && usedOnA < worstCase * 3, "usage below the worst cases");
      // A fourth stays in flight: the fake provider holds its answer, replica 0 its reservation.
      int before = stack.fakeLlm().requests().size();
      CompletableFuture<HttpResponse<String>> held = CompletableFuture.supplyAsync(
          () -> stack.chat(0, token.getToken(), Map.of("x-fake-llm-hold", "kill-it")));
      ReplicatedStack.await("the held request reached the provider", java.time.Duration
          .ofSeconds(30), () -> stack.fakeLlm().requests().size() > before);
      HttpResponse<String> refused = stack.chat(1, token.getToken());
      assertEquals(429, refused.statusCode(), refused.body());
      assertEquals("budget_exhausted",
          ReplicatedStack.json(refused.body()).at("/error/code").asText());

      // Replica 0 reports used + in flight at every renewal; wait until the control plane has
      // renewed its lease twice after all of that was settled here and reached the provider.
      BudgetLedger ledger = stack.controlPlane().budgetLedger();
      Lease lease = ledger.outstandingLeases().stream()
          .filter(l -> l.tokenId().equals(token.getTokenId())).findFirst().orElseThrow();
      assertEquals("replica-0", lease.replicaId());
      assertEquals(budget, lease.amount());
      long settledAt = System.currentTimeMillis();
      long[] renewals = {0, lease.expiresAtMs()};
      ReplicatedStack.await("two renewals of replica 0's lease", java.time.Duration
          .ofSeconds(30), () -> {
            long expires = ledger.outstandingLeases().stream()
                .filter(l -> l.leaseId().equals(lease.leaseId()))
                .mapToLong(Lease::expiresAtMs).findFirst().orElseThrow();
            if (expires != renewals[1] && expires - LEASE_TTL.toMillis() >= settledAt) {
              renewals[0]++;
              renewals[1] = expires;
            }
            return renewals[0] >= 2;
          });

      stack.killReplica(0);

      BudgetStatus killed = stack.budgets().getUsage(query);
      assertEquals(budget, killed.getLeased(), "the dead replica's lease is still outstanding");
      assertEquals(0, killed.getAvailable());
      assertEquals(0, killed.getSpent());
      stack.fakeLlm().release("kill-it"); // answered, but nobody is left to settle it
      held.get(60, TimeUnit.SECONDS);

      // The lease expires: what replica 0 last reported (used + in flight) is charged.
      ReplicatedStack.await("the dead replica's lease expired",
          LEASE_TTL.plus(java.time.Duration.ofSeconds(30)),
          () -> stack.budgets().getUsage(query).getLeased() == 0);
      BudgetStatus recovered = stack.budgets().getUsage(query);
      assertEquals(usedOnA + worstCase, recovered.getSpent(),
          "charged: the usage settled on replica 0 plus the worst case it had in flight");
      assertEquals(budget - usedOnA - worstCase, recovered.getAvailable(),
          "the rest of the lease is available again");

      // Replica 1 leases what is left and serves from it.
      HttpResponse<String> served = stack.chat(1, token.getToken());
      assertEquals(200, served.statusCode(), served.body());
      JsonNode body = ReplicatedStack.json(served.body());
      long usedOnB = body.at("/usage/prompt_tokens").asLong()
          + body.at("/usage/completion_tokens").asLong();
      ReplicatedStack.await("replica 1 returned its idle lease", java.time.Duration
          .ofSeconds(30), () -> stack.budgets().getUsage(query).getLeased() == 0);
      BudgetStatus end = stack.budgets().getUsage(query);
      assertEquals(usedOnA + worstCase + usedOnB, end.getSpent());
      assertEquals(budget - end.getSpent(), end.getAvailable());
    }
  }

  @Test
  void defaultMaxTokens_requestWithoutOne_reservesBodyPlusTheDefault() throws Exception {
    long defaultMaxTokens = 3;
    String body = "{\"model\":\"gpt-4o-mini\","
        + "\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}";
    long worstCase = body.getBytes(StandardCharsets.UTF_8).length + defaultMaxTokens;
    ReplicatedStack.Settings settings = new ReplicatedStack.Settings(List.of(),
        List.of("budget:", "  default_max_tokens: " + defaultMaxTokens), Set.of());
    try (ReplicatedStack stack = new ReplicatedStack(1, settings)) {
      // The budget is exactly one such worst case: the first fits, the second no longer does.
      IssueResponse token = stack.operator().issue(IssueRequest.newBuilder()
          .setAgentId("budget-default-it").addScopes("llm:complete")
          .setTtl(Duration.newBuilder().setSeconds(600)).setBudgetTokens(worstCase).build());

      HttpResponse<String> first = stack.chat(0, token.getToken(), body, Map.of());
      assertEquals(200, first.statusCode(), first.body());
      JsonNode usage = ReplicatedStack.json(first.body()).at("/usage");
      long used = usage.at("/prompt_tokens").asLong() + usage.at("/completion_tokens").asLong();
      assertTrue(used < worstCase, "usage " + used + " under the worst case " + worstCase);
      HttpResponse<String> second = stack.chat(0, token.getToken(), body, Map.of());

      assertEquals(429, second.statusCode(), second.body());
      JsonNode error = ReplicatedStack.json(second.body()).at("/error");
      assertEquals("budget_exhausted", error.at("/code").asText());
      assertTrue(error.at("/message").asText().contains("up to " + worstCase + " tokens"),
          error.toString());
      GetUsageRequest query = GetUsageRequest.newBuilder()
          .setTokenId(token.getTokenId()).build();
      ReplicatedStack.await("the idle lease returned", java.time.Duration.ofSeconds(60),
          () -> stack.budgets().getUsage(query).getLeased() == 0);
      assertEquals(used, stack.budgets().getUsage(query).getSpent(),
          "charged what the provider reported");
    }
  }
}
