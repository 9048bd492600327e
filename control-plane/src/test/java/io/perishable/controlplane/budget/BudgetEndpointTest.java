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
}
