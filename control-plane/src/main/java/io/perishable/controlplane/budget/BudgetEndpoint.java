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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * {@code BudgetService}: the gRPC door to the {@link BudgetLedger}. Thin: it checks the fields,
 * calls the ledger, and turns a {@link BudgetRejectedException} into the status its code names.
 * A grant and a return answer only once their record ({@link BudgetRecords}) is durable.
 */
public final class BudgetEndpoint extends BudgetServiceGrpc.BudgetServiceImplBase {
  private static final Logger LOG = Logger.getLogger(BudgetEndpoint.class.getName());
  private static final int MAX_ID_LENGTH = 128;

  private final BudgetLedger ledger;
  private final Clock clock;
  private final Duration leaseTtl;
  private final BudgetRecords records;
  private final Executor responder;

  /**
   * Without records: the ledger does not survive a restart.
   *
   * @param leaseTtl the ledger's lease ttl, told to replicas with every lease
   */
  public BudgetEndpoint(BudgetLedger ledger, Clock clock, Duration leaseTtl) {
    this(ledger, clock, leaseTtl, BudgetRecords.NONE, Runnable::run);
  }

  /**
   * @param leaseTtl the ledger's lease ttl, told to replicas with every lease
   * @param records where grants and returns are recorded before the answer
   * @param responder answers once a record is durable (off the log's writer thread)
   */
  public BudgetEndpoint(BudgetLedger ledger, Clock clock, Duration leaseTtl,
      BudgetRecords records, Executor responder) {
    this.ledger = ledger;
    this.clock = clock;
    this.leaseTtl = leaseTtl;
    this.records = records;
    this.responder = responder;
  }

  @Override
  public void lease(LeaseRequest request, StreamObserver<LeaseResponse> responses) {
    answerWhenRecorded(responses, () -> {
      requireId(request.getReplicaId(), "replica_id");
      requireId(request.getTokenId(), "token_id");
      if (request.getAmount() == 0) {
        throw Status.INVALID_ARGUMENT.withDescription("amount must be at least 1")
            .asRuntimeException();
      }
      long amount = request.getAmount() < 0 ? Long.MAX_VALUE : request.getAmount();
      LeaseDecision decision =
          ledger.lease(request.getTokenId(), request.getReplicaId(), amount);
      Lease lease = decision.lease();
      if (lease == null) {
        return new Recorded<>(CompletableFuture.completedFuture(null), () -> { },
            LeaseResponse.newBuilder().setExhausted(true).setAgentExhausted(
                decision.refusal() == LeaseDecision.Refusal.AGENT_BUDGET_EXHAUSTED).build(),
            "");
      }
      return new Recorded<>(records.leased(lease, decision.window()),
          () -> ledger.cancel(lease.leaseId()),
          LeaseResponse.newBuilder().setLease(toProto(lease)).build(),
          "the audit log could not record the lease, so none was granted; retry shortly");
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
    answerWhenRecorded(responses, () -> {
      ReturnedLease returned =
          ledger.settle(request.getLeaseId(), figure(request.getUsed(), "used"));
      // Should the record be lost, a restart restores the lease and charges it whole at its
      // expiry: more than was used, never less.
      return new Recorded<>(records.returned(returned), () -> { },
          ReturnResponse.getDefaultInstance(), "the lease was returned but the audit log could "
              + "not record it; a restart before it does would charge the whole lease");
    });
  }

  @Override
  public void getUsage(GetUsageRequest request, StreamObserver<BudgetStatus> responses) {
    answer(responses, () -> {
      boolean byToken = !request.getTokenId().isEmpty();
      if (byToken == !request.getAgentId().isEmpty()) {
        throw Status.INVALID_ARGUMENT.withDescription(
            "exactly one of token_id and agent_id must be set").asRuntimeException();
      }
      if (!byToken) {
        requireId(request.getAgentId(), "agent_id");
        AgentUsage u = ledger.agentUsage(request.getAgentId());
        return BudgetStatus.newBuilder().setAgentId(u.window().agentId()).setBudget(u.limit())
            .setSpent(u.spent()).setLeased(u.leased()).setAvailable(u.available())
            .setPeriodStart(timestampOfMillis(u.window().startMs()))
            .setPeriod(durationOfMillis(u.window().periodMs())).build();
      }
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
        .setExpiresAt(timestampOfMillis(lease.expiresAtMs()))
        .setTtl(durationOfMillis(Math.min(ttlMs, leaseTtl.toMillis())))
        .build();
  }

  private static Timestamp timestampOfMillis(long ms) {
    return Timestamp.newBuilder().setSeconds(Math.floorDiv(ms, 1000))
        .setNanos((int) Math.floorMod(ms, 1000) * 1_000_000).build();
  }

  private static com.google.protobuf.Duration durationOfMillis(long ms) {
    return com.google.protobuf.Duration.newBuilder()
        .setSeconds(ms / 1000).setNanos((int) (ms % 1000) * 1_000_000).build();
  }

  private interface Call<T> {
    T run();
  }

  /**
   * A ledger change and its record: answer {@code response} once {@code durable} completes;
   * if it fails, run {@code undo} and answer UNAVAILABLE with {@code failure}.
   */
  private record Recorded<T>(CompletableFuture<?> durable, Runnable undo, T response,
      String failure) {}

  private <T> void answerWhenRecorded(StreamObserver<T> responses, Call<Recorded<T>> call) {
    answer(new StreamObserver<Recorded<T>>() {
      @Override
      public void onNext(Recorded<T> recorded) {
        recorded.durable().whenCompleteAsync((r, e) -> {
          if (e != null) {
            LOG.log(Level.WARNING, "budget record not written: " + recorded.failure(), e);
            recorded.undo().run();
            responses.onError(Status.UNAVAILABLE.withDescription(recorded.failure())
                .asRuntimeException());
            return;
          }
          responses.onNext(recorded.response());
          responses.onCompleted();
        }, responder);
      }

      @Override
      public void onError(Throwable t) {
        responses.onError(t);
      }

      @Override
      public void onCompleted() {}
    }, call);
  }

  private static <T> void answer(StreamObserver<T> responses, Call<T> call) {
    T response;
    try {
      response = call.run();
    } catch (BudgetRejectedException e) {
      Status status = switch (e.code()) {
        case UNKNOWN_TOKEN, UNKNOWN_LEASE, UNKNOWN_AGENT -> Status.NOT_FOUND;
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
