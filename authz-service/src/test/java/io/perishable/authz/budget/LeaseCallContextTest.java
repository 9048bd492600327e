package io.perishable.authz.budget;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.grpc.Context;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.perishable.authz.testing.MutableClock;
import io.perishable.controlplane.budget.AgentWindow;
import io.perishable.controlplane.budget.BudgetEndpoint;
import io.perishable.controlplane.budget.BudgetLedger;
import io.perishable.controlplane.budget.BudgetRecords;
import io.perishable.controlplane.budget.Lease;
import io.perishable.controlplane.budget.ReturnedLease;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A lease asked for while serving a Check or an ext_proc stream outlives that stream: its call
 * does not inherit the caller's gRPC context, whose cancellation (the stream ended) would cancel
 * the lease call and refuse the requests waiting for it.
 */
class LeaseCallContextTest {
  private static final Duration TTL = Duration.ofSeconds(30);

  private final MutableClock clock = new MutableClock(Instant.parse("2026-11-25T00:00:00Z"));
  private final BudgetLedger ledger = new BudgetLedger(clock, TTL);
  /** The control plane's record of the grant, durable only when the test says so. */
  private final CompletableFuture<Void> recordDurable = new CompletableFuture<>();
  private Server server;
  private ManagedChannel channel;
  private BudgetLeaseClient client;

  @BeforeEach
  void start() throws Exception {
    BudgetRecords held = new BudgetRecords() {
      @Override
      public CompletableFuture<?> leased(Lease lease, AgentWindow window) {
        return recordDurable;
      }

      @Override
      public CompletableFuture<?> returned(ReturnedLease returned) {
        return CompletableFuture.completedFuture(null);
      }
    };
    String name = InProcessServerBuilder.generateName();
    server = InProcessServerBuilder.forName(name).directExecutor()
        .addService(new BudgetEndpoint(ledger, clock, TTL, held, Runnable::run)).build().start();
    channel = InProcessChannelBuilder.forName(name).directExecutor().build();
    client = new BudgetLeaseClient(channel, "replica-a", Duration.ofSeconds(5),
        Duration.ofSeconds(10));
  }

  @AfterEach
  void stop() throws Exception {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  @Test
  void acquire_callersContextCancelledBeforeTheAnswer_leaseStillGranted() {
    ledger.openRoot("tok", 1_000);
    AtomicReference<CompletionStage<java.util.Optional<LeaseSource.Grant>>> pending =
        new AtomicReference<>();
    Context.CancellableContext serving = Context.current().withCancellation();
    serving.run(() -> pending.set(client.acquire("tok", 400)));

    serving.cancel(null); // the Check that asked has been answered
    recordDurable.complete(null);

    assertEquals(400, pending.get().toCompletableFuture().join().orElseThrow().amount());
  }
}
