package io.perishable.authz.budget;

import io.grpc.Channel;
import io.grpc.Context;
import io.grpc.stub.StreamObserver;
import io.perishable.proto.v1.BudgetServiceGrpc;
import io.perishable.proto.v1.LeaseRequest;
import io.perishable.proto.v1.LeaseResponse;
import io.perishable.proto.v1.RenewRequest;
import io.perishable.proto.v1.RenewResponse;
import io.perishable.proto.v1.ReturnRequest;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.logging.Logger;

/**
 * The {@link LeaseSource} of a replica: the control plane's {@code BudgetService} over gRPC,
 * one unary call per chunk, each with its own deadline. The only class of this package that
 * speaks gRPC.
 */
public final class BudgetLeaseClient implements LeaseSource {
  private static final Logger LOG = Logger.getLogger(BudgetLeaseClient.class.getName());

  private final BudgetServiceGrpc.BudgetServiceStub stub;
  private final String replicaId;
  private final Duration deadline;
  private final Duration renewInterval;
  /** The last too-short ttl warned about, so a misconfiguration is logged once, not per call. */
  private final AtomicReference<Duration> warnedTtl = new AtomicReference<>();

  /**
   * @param replicaId this replica's name, as on its Sync stream
   * @param deadline how long one call may take before the waiting requests are refused (503)
   * @param renewInterval how often this replica renews its leases; a lease ttl granted shorter
   *     than twice this is logged as a misconfiguration
   */
  public BudgetLeaseClient(Channel channel, String replicaId, Duration deadline,
      Duration renewInterval) {
    this.stub = BudgetServiceGrpc.newStub(channel);
    this.replicaId = replicaId;
    this.deadline = deadline;
    this.renewInterval = renewInterval;
  }

  /**
   * True when a lease of {@code ttl} renewed every {@code renewInterval} can lapse between two
   * renewals: a replica spends a lease only until one renew interval before its ttl, so a ttl
   * under twice the interval leaves it unusable for part of every interval.
   */
  public static boolean ttlTooShort(Duration ttl, Duration renewInterval) {
    return ttl.compareTo(renewInterval.multipliedBy(2)) < 0;
  }

  /** Returns {@code ttl}, logging a warning the first time a too-short one is granted. */
  private Duration checked(Duration ttl) {
    if (ttlTooShort(ttl, renewInterval) && !ttl.equals(warnedTtl.getAndSet(ttl))) {
      LOG.warning(() -> "the control plane grants budget leases for " + ttl.toMillis()
          + "ms, less than twice authz.budget.renew_interval (" + renewInterval.toMillis()
          + "ms): leases lapse between renewals and budgeted requests wait for new ones; "
          + "lower authz.budget.renew_interval to a third of control_plane.budget.lease_ttl");
    }
    return ttl;
  }

  @Override
  public CompletionStage<Optional<Grant>> acquire(String tokenId, long amount) {
    LeaseRequest request = LeaseRequest.newBuilder()
        .setReplicaId(replicaId).setTokenId(tokenId).setAmount(amount).build();
    Answer<LeaseResponse> answer = new Answer<>();
    detached(() -> timed().lease(request, answer));
    return answer.result.thenApply(response -> {
      if (response.getAgentExhausted()) {
        throw new AgentBudgetExhaustedException(tokenId);
      }
      if (response.getExhausted() || !response.hasLease()) {
        return Optional.empty();
      }
      var lease = response.getLease();
      Duration ttl = Duration.ofSeconds(lease.getTtl().getSeconds(), lease.getTtl().getNanos());
      return Optional.of(new Grant(lease.getLeaseId(), lease.getAmount(), checked(ttl)));
    });
  }

  /**
   * Renews a lease with this replica's report on it (see {@link ReservationBook#leaseReports}).
   *
   * @return the lease's new ttl
   */
  public CompletionStage<Duration> renew(ReservationBook.LeaseReport report) {
    Answer<RenewResponse> answer = new Answer<>();
    detached(() -> timed().renew(RenewRequest.newBuilder().setLeaseId(report.leaseId())
        .setUsed(report.used()).setInFlight(report.inFlight()).build(), answer));
    return answer.result.thenApply(r -> checked(Duration.ofSeconds(
        r.getLease().getTtl().getSeconds(), r.getLease().getTtl().getNanos())));
  }

  /** Returns a lease with everything used from it. */
  public CompletionStage<Void> giveBack(String leaseId, long used) {
    Answer<Object> answer = new Answer<>();
    detached(() -> timed().return_(ReturnRequest.newBuilder().setLeaseId(leaseId).setUsed(used)
        .build(), answer.any()));
    return answer.result.thenApply(r -> null);
  }

  /**
   * Starts a call outside the caller's gRPC context. A lease is often asked for while serving a
   * Check or an ext_proc stream; a call started in that context would be cancelled when that
   * stream ends, and the requests waiting for the lease refused (503) for no reason.
   */
  private static void detached(Runnable call) {
    Context.current().fork().run(call);
  }

  private BudgetServiceGrpc.BudgetServiceStub timed() {
    return stub.withDeadlineAfter(deadline.toNanos(), TimeUnit.NANOSECONDS);
  }

  /** A unary call's answer as a future. */
  private static final class Answer<T> implements StreamObserver<T> {
    final CompletableFuture<T> result = new CompletableFuture<>();

    @Override
    public void onNext(T value) {
      result.complete(value);
    }

    @Override
    public void onError(Throwable t) {
      result.completeExceptionally(t);
    }

    @Override
    public void onCompleted() {
      result.complete(null);
    }

    @SuppressWarnings("unchecked")
    <R> StreamObserver<R> any() {
      return (StreamObserver<R>) this;
    }
  }
}
