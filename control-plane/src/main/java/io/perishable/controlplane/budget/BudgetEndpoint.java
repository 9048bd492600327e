package io.perishable.controlplane.budget;

import com.google.protobuf.Timestamp;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import io.perishable.proto.v1.BudgetLease;
import io.perishable.proto.v1.BudgetServiceGrpc;
import io.perishable.proto.v1.BudgetStatus;
import io.perishable.proto.v1.GetUsageRequest;
import io.perishable.proto.v1.LeaseRequest;
import io.perishable.proto.v1.LeaseResponse;
import io.perishable.proto.v1.RenewRequest;
import io.perishable.proto.v1.RenewResponse;
import io.perishable.proto.v1.ReturnRequest;
import io.perishable.proto.v1.ReturnResponse;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;

/**
 * {@code BudgetService}: the gRPC door to the {@link BudgetLedger}. Thin: it checks the fields,
 * calls the ledger, and turns a {@link BudgetRejectedException} into the status its code names.
 */
public final class BudgetEndpoint extends BudgetServiceGrpc.BudgetServiceImplBase {
  private static final int MAX_ID_LENGTH = 128;

  private final BudgetLedger ledger;
  private final Clock clock;
  private final Duration leaseTtl;

  /** @param leaseTtl the ledger's lease ttl, told to replicas with every lease */
  public BudgetEndpoint(BudgetLedger ledger, Clock clock, Duration leaseTtl) {
    this.ledger = ledger;
    this.clock = clock;
    this.leaseTtl = leaseTtl;
  }

  @Override
  public void lease(LeaseRequest request, StreamObserver<LeaseResponse> responses) {
    answer(responses, () -> {
      requireId(request.getReplicaId(), "replica_id");
      requireId(request.getTokenId(), "token_id");
      if (request.getAmount() == 0) {
        throw Status.INVALID_ARGUMENT.withDescription("amount must be at least 1")
            .asRuntimeException();
      }
      long amount = request.getAmount() < 0 ? Long.MAX_VALUE : request.getAmount();
      Optional<Lease> lease = ledger.grant(request.getTokenId(), request.getReplicaId(), amount);
      return lease.map(l -> LeaseResponse.newBuilder().setLease(toProto(l)).build())
          .orElse(LeaseResponse.newBuilder().setExhausted(true).build());
    });
  }

  @Override
  public void renew(RenewRequest request, StreamObserver<RenewResponse> responses) {
    answer(responses, () -> {
      Lease lease = ledger.renew(request.getLeaseId(), figure(request.getUsed(), "used"),
          figure(request.getInFlight(), "in_flight"));
      return RenewResponse.newBuilder().setLease(toProto(lease)).build();
    });
  }

  @Override
  public void return_(ReturnRequest request, StreamObserver<ReturnResponse> responses) {
    answer(responses, () -> {
      ledger.settle(request.getLeaseId(), figure(request.getUsed(), "used"));
      return ReturnResponse.getDefaultInstance();
    });
  }

  @Override
  public void getUsage(GetUsageRequest request, StreamObserver<BudgetStatus> responses) {
    answer(responses, () -> {
      requireId(request.getTokenId(), "token_id");
      BudgetUsage u = ledger.usage(request.getTokenId());
      return BudgetStatus.newBuilder().setTokenId(u.tokenId()).setBudget(u.limit())
          .setSpent(u.spent()).setLeased(u.leased()).setAvailable(u.available()).build();
    });
  }

  /**
   * Applies {@code issuerAuth} to {@code GetUsage} only: replicas lease, renew and return
   * without an issuer secret (as they Sync and Report); operators' usage queries need one.
   */
  public static ServerInterceptor issuerOnlyForUsage(ServerInterceptor issuerAuth) {
    String usage = BudgetServiceGrpc.getGetUsageMethod().getFullMethodName();
    return new ServerInterceptor() {
      @Override
      public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call,
          Metadata headers, ServerCallHandler<Q, R> next) {
        return call.getMethodDescriptor().getFullMethodName().equals(usage)
            ? issuerAuth.interceptCall(call, headers, next)
            : next.startCall(call, headers);
      }
    };
  }

  private BudgetLease toProto(Lease lease) {
    long ttlMs = Math.max(0, lease.expiresAtMs() - clock.millis());
    return BudgetLease.newBuilder()
        .setLeaseId(lease.leaseId())
        .setTokenId(lease.tokenId())
        .setAmount(lease.amount())
        .setExpiresAt(Timestamp.newBuilder()
            .setSeconds(Math.floorDiv(lease.expiresAtMs(), 1000))
            .setNanos((int) Math.floorMod(lease.expiresAtMs(), 1000) * 1_000_000))
        .setTtl(durationOfMillis(Math.min(ttlMs, leaseTtl.toMillis())))
        .build();
  }

  private static com.google.protobuf.Duration durationOfMillis(long ms) {
    return com.google.protobuf.Duration.newBuilder()
        .setSeconds(ms / 1000).setNanos((int) (ms % 1000) * 1_000_000).build();
  }

  private interface Call<T> {
    T run();
  }

  private static <T> void answer(StreamObserver<T> responses, Call<T> call) {
    T response;
    try {
      response = call.run();
    } catch (BudgetRejectedException e) {
      Status status = switch (e.code()) {
        case UNKNOWN_TOKEN, UNKNOWN_LEASE -> Status.NOT_FOUND;
        case DUPLICATE_ACCOUNT -> Status.ALREADY_EXISTS;
        case INVALID_AMOUNT, EXCEEDS_PARENT -> Status.INVALID_ARGUMENT;
      };
      responses.onError(status.withDescription(e.getMessage()).asRuntimeException());
      return;
    } catch (StatusRuntimeException e) {
      responses.onError(e);
      return;
    }
    responses.onNext(response);
    responses.onCompleted();
  }

  /** uint64 on the wire: a value above Long.MAX_VALUE arrives negative and is refused. */
  private static long figure(long value, String field) {
    if (value < 0) {
      throw Status.INVALID_ARGUMENT.withDescription(field + " is out of range")
          .asRuntimeException();
    }
    return value;
  }

  private static void requireId(String id, String field) {
    if (id.isEmpty() || id.length() > MAX_ID_LENGTH) {
      throw Status.INVALID_ARGUMENT
          .withDescription(field + " must be 1-" + MAX_ID_LENGTH + " characters")
          .asRuntimeException();
    }
  }
}
