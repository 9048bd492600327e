package io.perishable.authz.budget;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.perishable.authz.budget.ReservationBook.LeaseReport;
import io.perishable.authz.testing.MutableClock;
import io.perishable.controlplane.budget.BudgetEndpoint;
import io.perishable.controlplane.budget.BudgetLedger;
import io.perishable.controlplane.budget.BudgetUsage;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** A replica's reservation book leasing over gRPC from the control plane's real endpoint. */
class BudgetLeaseClientTest {
  private static final Duration TTL = Duration.ofSeconds(30);

  private final MutableClock clock = new MutableClock(Instant.parse("2026-11-25T00:00:00Z"));
  private final BudgetLedger ledger = new BudgetLedger(clock, TTL);
  private Server server;
  private ManagedChannel channel;
  private BudgetLeaseClient client;

  @BeforeEach
  void start() throws Exception {
    String name = InProcessServerBuilder.generateName();
    server = InProcessServerBuilder.forName(name).directExecutor()
        .addService(new BudgetEndpoint(ledger, clock, TTL)).build().start();
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
  void acquire_grantsAChunkWithTheLeaseTtl() {
    ledger.openRoot("tok", 800);

    LeaseSource.Grant grant =
        client.acquire("tok", 500).toCompletableFuture().join().orElseThrow();

    assertEquals(500, grant.amount());
    assertEquals(TTL, grant.ttl());
    assertEquals(500, ledger.usage("tok").leased());
  }

  @Test
  void ttlTooShort_underTwiceTheRenewInterval() {
    Duration renew = Duration.ofSeconds(10);
    assertTrue(BudgetLeaseClient.ttlTooShort(Duration.ofMillis(19_999), renew));
    assertFalse(BudgetLeaseClient.ttlTooShort(Duration.ofSeconds(20), renew));
    assertFalse(BudgetLeaseClient.ttlTooShort(TTL, renew));
  }

  @Test
  void acquire_ttlUnderTwiceTheRenewInterval_warnedOnce() {
    ledger.openRoot("tok", 800);
    BudgetLeaseClient slow = new BudgetLeaseClient(channel, "replica-a", Duration.ofSeconds(5),
        Duration.ofSeconds(20));
    List<LogRecord> logged = new CopyOnWriteArrayList<>();
    Handler handler = new Handler() {
      @Override
      public void publish(LogRecord r) {
        logged.add(r);
      }

      @Override
      public void flush() {}

      @Override
      public void close() {}
    };
    Logger logger = Logger.getLogger(BudgetLeaseClient.class.getName());
    logger.addHandler(handler);
    try {
      client.acquire("tok", 100).toCompletableFuture().join();
      assertEquals(List.of(), logged, "30s ttl, renewed every 10s: fine");

      slow.acquire("tok", 100).toCompletableFuture().join();
      slow.acquire("tok", 100).toCompletableFuture().join();

      assertEquals(1, logged.size(), "warned once, not per lease");
      assertEquals(Level.WARNING, logged.get(0).getLevel());
      assertTrue(logged.get(0).getMessage().contains("authz.budget.renew_interval"),
          logged.get(0).getMessage());
    } finally {
      logger.removeHandler(handler);
    }
  }

  @Test
  void acquire_exhausted_empty() {
    ledger.openRoot("tok", 10);
    client.acquire("tok", 10).toCompletableFuture().join();

    assertEquals(Optional.empty(), client.acquire("tok", 1).toCompletableFuture().join());
  }

  @Test
  void acquire_unknownToken_fails() {
    CompletionException e = assertThrows(CompletionException.class,
        () -> client.acquire("nobody", 1).toCompletableFuture().join());
    assertInstanceOf(StatusRuntimeException.class, e.getCause());
  }

  @Test
  void book_reserveSettleRenewReturn_overGrpc() {
    ledger.openRoot("tok", 10_000);
    ReservationBook book =
        new ReservationBook(client, System::nanoTime, 1_000, 100, Duration.ofSeconds(5));

    Admission a = book.reserve("tok", "req-1", 400).toCompletableFuture().join();
    assertEquals(new Admission.Admitted(400), a);
    book.reserve("tok", "req-2", 300).toCompletableFuture().join();
    book.settle("req-1", 123);

    LeaseReport report = book.leaseReports("tok").get(0);
    assertEquals(new LeaseReport(report.leaseId(), 1_000, 123, 300), report);
    client.renew(report).toCompletableFuture().join();
    book.settle("req-2", 77);
    client.giveBack(report.leaseId(), book.leaseReports("tok").get(0).used())
        .toCompletableFuture().join();

    assertEquals(new BudgetUsage("tok", 10_000, 200, 0, 9_800), ledger.usage("tok"));
  }
}
