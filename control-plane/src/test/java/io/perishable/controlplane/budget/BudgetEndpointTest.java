package io.perishable.controlplane.budget;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.perishable.controlplane.InProcessGrpc;
import io.perishable.controlplane.MutableClock;
import io.perishable.proto.v1.BudgetLease;
import io.perishable.proto.v1.BudgetServiceGrpc;
import io.perishable.proto.v1.BudgetServiceGrpc.BudgetServiceBlockingStub;
import io.perishable.proto.v1.BudgetStatus;
import io.perishable.proto.v1.GetUsageRequest;
import io.perishable.proto.v1.LeaseRequest;
import io.perishable.proto.v1.LeaseResponse;
import io.perishable.proto.v1.RenewRequest;
import io.perishable.proto.v1.ReturnRequest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import javax.annotation.Nullable;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class BudgetEndpointTest {
  private static final Duration TTL = Duration.ofSeconds(20);

  @RegisterExtension final InProcessGrpc grpc = new InProcessGrpc();

  private final MutableClock clock = new MutableClock(Instant.parse("2026-11-25T00:00:00Z"));
  private final BudgetLedger ledger = new BudgetLedger(clock, TTL);
  private BudgetServiceBlockingStub stub;

  @BeforeEach
  void serve() {
    stub = BudgetServiceGrpc.newBlockingStub(grpc.serve(new BudgetEndpoint(ledger, clock, TTL)));
    ledger.openRoot("tok", 1000);
  }

  private LeaseResponse lease(long amount) {
    return stub.lease(LeaseRequest.newBuilder().setReplicaId("r1").setTokenId("tok")
        .setAmount(amount).build());
  }

  private static Status.Code code(Runnable call) {
    return assertThrows(StatusRuntimeException.class, call::run).getStatus().getCode();
  }

  @Test
  void lease_grantsWithTtlAndExpiry() {
    BudgetLease lease = lease(400).getLease();

    assertEquals(400, lease.getAmount());
    assertEquals("tok", lease.getTokenId());
    assertEquals(20, lease.getTtl().getSeconds());
    assertEquals(clock.millis() / 1000 + 20, lease.getExpiresAt().getSeconds());
  }

  @Test
  void lease_nothingLeft_exhaustedNotAnError() {
    lease(1000);

    LeaseResponse none = lease(1);

    assertTrue(none.getExhausted());
    assertFalse(none.hasLease());
  }

  @Test
  void returnThenUsage_spentAndAvailable() {
    BudgetLease lease = lease(600).getLease();
    stub.return_(ReturnRequest.newBuilder().setLeaseId(lease.getLeaseId()).setUsed(250).build());

    BudgetStatus status = stub.getUsage(GetUsageRequest.newBuilder().setTokenId("tok").build());

    assertEquals(BudgetStatus.newBuilder().setTokenId("tok").setBudget(1000).setSpent(250)
        .setLeased(0).setAvailable(750).build(), status);
  }

  @Test
  void renew_afterExpiry_notFound() {
    BudgetLease lease = lease(600).getLease();
    clock.advance(TTL);
    ledger.expire();

    assertEquals(Status.Code.NOT_FOUND, code(() -> stub.renew(
        RenewRequest.newBuilder().setLeaseId(lease.getLeaseId()).build())));
  }

  @Test
  void badRequests_specificStatus() {
    assertEquals(Status.Code.INVALID_ARGUMENT, code(() -> lease(0)));
    assertEquals(Status.Code.INVALID_ARGUMENT, code(() -> stub.lease(
        LeaseRequest.newBuilder().setTokenId("tok").setAmount(1).build())));
    assertEquals(Status.Code.NOT_FOUND, code(() -> stub.lease(LeaseRequest.newBuilder()
        .setReplicaId("r1").setTokenId("nobody").setAmount(1).build())));
    BudgetLease lease = lease(100).getLease();
    assertEquals(Status.Code.INVALID_ARGUMENT, code(() -> stub.return_(
        ReturnRequest.newBuilder().setLeaseId(lease.getLeaseId()).setUsed(101).build())));
    assertEquals(Status.Code.NOT_FOUND, code(() -> stub.getUsage(
        GetUsageRequest.newBuilder().setTokenId("nobody").build())));
  }

  /** Records in a list, or fails every append when {@code failing}. */
  private static final class ListRecords implements BudgetRecords {
    final List<String> written = new ArrayList<>();
    boolean failing;

    @Override
    public CompletableFuture<?> leased(Lease lease, @Nullable AgentWindow window) {
      return write("leased " + lease.leaseId() + " " + lease.amount()
          + (window == null ? "" : " " + window.agentId()));
    }

    @Override
    public CompletableFuture<?> returned(ReturnedLease r) {
      return write("returned " + r.lease().leaseId() + " " + r.charged() + " " + r.how());
    }

    private CompletableFuture<?> write(String record) {
      if (failing) {
        return CompletableFuture.failedFuture(new IllegalStateException("audit log is full"));
      }
      written.add(record);
      return CompletableFuture.completedFuture(null);
    }
  }

  private BudgetServiceBlockingStub recording(BudgetLedger ledger, ListRecords records) {
    return BudgetServiceGrpc.newBlockingStub(grpc.serve(
        new BudgetEndpoint(ledger, clock, TTL, records, Runnable::run)));
  }

  @Test
  void leaseAndReturn_recordedBeforeTheAnswer() {
    ListRecords records = new ListRecords();
    BudgetServiceBlockingStub recorded = recording(ledger, records);

    BudgetLease lease = recorded.lease(LeaseRequest.newBuilder().setReplicaId("r1")
        .setTokenId("tok").setAmount(300).build()).getLease();
    recorded.return_(ReturnRequest.newBuilder().setLeaseId(lease.getLeaseId()).setUsed(120)
        .build());

    assertEquals(List.of("leased " + lease.getLeaseId() + " 300",
        "returned " + lease.getLeaseId() + " 120 settled"), records.written);
  }

  @Test
  void lease_recordNotWritten_unavailableAndNothingGranted() {
    ListRecords records = new ListRecords();
    records.failing = true;
    BudgetServiceBlockingStub recorded = recording(ledger, records);

    StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
        () -> recorded.lease(LeaseRequest.newBuilder().setReplicaId("r1").setTokenId("tok")
            .setAmount(300).build()));

    assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode());
    assertTrue(e.getStatus().getDescription().contains("none was granted"),
        e.getStatus().getDescription());
    assertEquals(new BudgetUsage("tok", 1000, 0, 0, 1000), ledger.usage("tok"),
        "the grant was undone");
    assertEquals(List.of(), ledger.outstandingLeases());
  }

  @Test
  void lease_agentWindowSpent_exhaustedAndAgentExhausted() {
    BudgetLedger agents = new BudgetLedger(clock, TTL,
        List.of(new AgentBudget("summarizer", 500, Duration.ofDays(1))));
    agents.openIssued("a", "summarizer", null, 1000, false);
    BudgetServiceBlockingStub recorded = recording(agents, new ListRecords());
    LeaseRequest request = LeaseRequest.newBuilder().setReplicaId("r1").setTokenId("a")
        .setAmount(800).build();

    assertEquals(500, recorded.lease(request).getLease().getAmount(),
        "a lease is cut to what the agent's window has left");
    LeaseResponse refused = recorded.lease(request);

    assertTrue(refused.getExhausted(), "replicas that know nothing of agents still refuse");
    assertTrue(refused.getAgentExhausted());
    assertFalse(refused.hasLease());
    assertFalse(lease(1000).getAgentExhausted(), "a token without an agent budget");
  }

  @Test
  void getUsage_byAgent_currentWindow() {
    BudgetLedger agents = new BudgetLedger(clock, TTL,
        List.of(new AgentBudget("summarizer", 5000, Duration.ofHours(24))));
    agents.openIssued("a", "summarizer", null, 1000, false);
    BudgetServiceBlockingStub recorded = recording(agents, new ListRecords());
    clock.advance(Duration.ofHours(7));
    BudgetLease lease = recorded.lease(LeaseRequest.newBuilder().setReplicaId("r1")
        .setTokenId("a").setAmount(800).build()).getLease();
    recorded.return_(ReturnRequest.newBuilder().setLeaseId(lease.getLeaseId()).setUsed(300)
        .build());

    BudgetStatus status =
        recorded.getUsage(GetUsageRequest.newBuilder().setAgentId("summarizer").build());

    assertEquals("summarizer", status.getAgentId());
    assertEquals(5000, status.getBudget());
    assertEquals(300, status.getSpent());
    assertEquals(4700, status.getAvailable());
    assertEquals(Instant.parse("2026-11-25T00:00:00Z").getEpochSecond(),
        status.getPeriodStart().getSeconds(), "windows are aligned to the epoch, UTC");
    assertEquals(86_400, status.getPeriod().getSeconds());
    assertEquals(Status.Code.NOT_FOUND, code(() -> recorded.getUsage(
        GetUsageRequest.newBuilder().setAgentId("nobody").build())));
    assertEquals(Status.Code.INVALID_ARGUMENT, code(() -> recorded.getUsage(
        GetUsageRequest.newBuilder().setAgentId("summarizer").setTokenId("a").build())));
  }
}
