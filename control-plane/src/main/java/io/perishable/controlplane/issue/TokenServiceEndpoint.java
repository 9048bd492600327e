package io.perishable.controlplane.issue;

import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.perishable.controlplane.audit.AuditLogFullException;
import io.perishable.controlplane.audit.AuditLogUnavailableException;
import io.perishable.controlplane.issuer.IssuerAuthenticator;
import io.perishable.controlplane.journal.AuditTrail;
import io.perishable.controlplane.metrics.ControlPlaneMetrics;
import io.perishable.controlplane.lookup.InvalidQueryException;
import io.perishable.controlplane.lookup.TokenLookup;
import io.perishable.controlplane.revocation.RevokeRejectedException;
import io.perishable.controlplane.revocation.Revoker;
import io.perishable.proto.v1.GetLineageRequest;
import io.perishable.proto.v1.GetLineageResponse;
import io.perishable.proto.v1.GetTokenRequest;
import io.perishable.proto.v1.IssueRequest;
import io.perishable.proto.v1.IssueResponse;
import io.perishable.proto.v1.ListTokensRequest;
import io.perishable.proto.v1.ListTokensResponse;
import io.perishable.proto.v1.RevokeRequest;
import io.perishable.proto.v1.RevokeResponse;
import io.perishable.proto.v1.TokenClaims;
import io.perishable.proto.v1.TokenInfo;
import io.perishable.proto.v1.TokenServiceGrpc;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * gRPC glue for {@code perishable.v1.TokenService}: maps rejections onto statuses. Issuer
 * authentication happened in {@link IssuerAuthenticator} before any of this runs, except for
 * Issue calls without valid credentials, which are accepted here only with a parent token.
 *
 * <p><b>Durable before answered.</b> Issue signs the token, appends its {@code issued} audit
 * record and answers (and indexes the token) only once the record is durable; Revoke appends its
 * {@code revoked} record and puts the rule in force (and publishes it to the replicas) only once
 * that record is durable. If the record cannot be written (log full, stopped, closed) the call
 * fails with UNAVAILABLE and nothing happened: no token is returned, no rule is in force. The
 * waiting happens on the log's futures; the answer is sent from {@code responder}, never from
 * the log's writer thread.
 */
public final class TokenServiceEndpoint extends TokenServiceGrpc.TokenServiceImplBase {
  private static final Logger LOG = Logger.getLogger(TokenServiceEndpoint.class.getName());

  /** Kept from a call's deadline so the answer still reaches the caller in time. */
  static final Duration DEADLINE_MARGIN = Duration.ofMillis(100);

  private final TokenIssuer issuer;
  private final Revoker revoker;
  private final TokenLookup lookup;
  private final AuditTrail trail;
  private final Executor responder;
  private final ControlPlaneMetrics metrics;

  /**
   * @param trail where issued and revoked records go before the calls answer
   * @param responder runs what follows a durable record (indexing, publishing the rule and
   *     waiting for replica acks, answering)
   */
  public TokenServiceEndpoint(TokenIssuer issuer, Revoker revoker, TokenLookup lookup,
      AuditTrail trail, Executor responder, ControlPlaneMetrics metrics) {
    this.issuer = issuer;
    this.revoker = revoker;
    this.lookup = lookup;
    this.trail = trail;
    this.responder = responder;
    this.metrics = metrics;
  }

  @Override
  public void issue(IssueRequest request, StreamObserver<IssueResponse> responses) {
    String issuerId = IssuerAuthenticator.ISSUER_ID.get();
    boolean workload = Boolean.TRUE.equals(IssuerAuthenticator.WORKLOAD_PRINCIPAL.get());
    if (issuerId == null && request.getParentToken().isEmpty()) {
      String problem = IssuerAuthenticator.CREDENTIAL_PROBLEM.get();
      String reason = IssuerAuthenticator.CREDENTIAL_REASON.get();
      metrics.issuerRejected(reason != null ? reason : "missing_credentials");
      fail(responses, Status.UNAUTHENTICATED
          .withDescription(problem != null ? problem : "missing issuer credentials"));
      return;
    }
    TokenIssuer.Minted minted;
    try {
      minted = issuer.mint(issuerId, workload, request);
    } catch (IssueRejectedException e) {
      LOG.fine(() -> "issue rejected for issuer=" + issuerId + ": " + e.getMessage());
      if (e.reason() != null) {
        metrics.issuerRejected(e.reason());
      }
      Status status;
      switch (e.kind()) {
        case PERMISSION_DENIED -> status = Status.PERMISSION_DENIED;
        case UNAUTHENTICATED -> status = Status.UNAUTHENTICATED;
        default -> status = Status.INVALID_ARGUMENT;
      }
      fail(responses, status.withDescription(e.getMessage()));
      return;
    } catch (RuntimeException e) {
      metrics.issueRejected(Status.Code.INTERNAL.name());
      internal("issue", e, responses);
      return;
    }
    TokenClaims claims = minted.indexed().claims();
    trail.issued(minted.indexed()).whenCompleteAsync((record, failure) -> {
      if (failure != null) {
        fail(responses, auditFailure(failure, "the token was not issued"));
        return;
      }
      issuer.index(minted);
      metrics.issued(claims.getScopesList());
      LOG.info(() -> "issued token_id=" + claims.getTokenId() + " agent=" + claims.getAgentId()
          + " minted_by=" + minted.indexed().mintedBy() + " depth="
          + claims.getAncestorIdsCount() + " scopes=" + claims.getScopesList() + " upstream="
          + claims.getUpstream() + " expires_at_ms=" + claims.getExpiresAtMs() + " audit_seq="
          + record.seq());
      answer(responses, minted.response());
    }, responder);
  }

  @Override
  public void revoke(RevokeRequest request, StreamObserver<RevokeResponse> responses) {
    long startNanos = System.nanoTime();
    String issuerId = IssuerAuthenticator.ISSUER_ID.get();
    Revoker.Prepared prepared;
    try {
      Deadline deadline = Context.current().getDeadline();
      Optional<Duration> maxWait = deadline == null ? Optional.empty() : Optional.of(
          Duration.ofNanos(deadline.timeRemaining(TimeUnit.NANOSECONDS))
              .minus(DEADLINE_MARGIN));
      prepared = revoker.prepare(issuerId, request, maxWait);
    } catch (RevokeRejectedException e) {
      LOG.fine(() -> "revoke rejected for issuer=" + issuerId + ": " + e.getMessage());
      Status status = e.kind() == RevokeRejectedException.Kind.NOT_FOUND
          ? Status.NOT_FOUND : Status.INVALID_ARGUMENT;
      responses.onError(status.withDescription(e.getMessage()).asRuntimeException());
      return;
    } catch (RuntimeException e) {
      internal("revoke", e, responses);
      return;
    }
    trail.revoked(prepared.rule(), prepared.tokensCovered(), issuerId == null ? "" : issuerId)
        .thenApplyAsync(record -> revoker.enforce(prepared), responder)
        .whenComplete((outcome, failure) -> {
          if (failure != null) {
            Throwable cause = unwrap(failure);
            if (cause instanceof AuditLogFullException
                || cause instanceof AuditLogUnavailableException) {
              error(responses, auditFailure(cause, "the revocation is NOT in force"));
            } else {
              internal("revoke", cause, responses);
            }
            return;
          }
          Duration propagation = outcome.propagation()
              .filter(p -> p.unacked().isEmpty() && !p.acked().isEmpty())
              .map(p -> Duration.ofNanos(System.nanoTime() - startNanos))
              .orElse(null);
          metrics.revoked(AuditTrail.selectorKind(outcome.rule()), propagation);
          RevokeResponse.Builder response = RevokeResponse.newBuilder()
              .setRuleId(outcome.rule().getRuleId())
              .setTokensCovered(outcome.tokensCovered())
              .setRuleExpiresAt(TokenIssuer.timestamp(outcome.rule().getExpiresAtMs()))
              .setReplicaAckSkipped(outcome.propagation().isEmpty());
          outcome.propagation().ifPresent(p -> response
              .addAllAckedReplicas(p.acked())
              .addAllUnackedReplicas(p.unacked()));
          answer(responses, response.build());
        });
  }

  /** Counts an Issue refusal by its code and sends it. */
  private void fail(StreamObserver<?> responses, Status status) {
    metrics.issueRejected(status.getCode().name());
    error(responses, status);
  }

  /** UNAVAILABLE for a log that is full or stopped; INTERNAL for anything else. */
  private static Status auditFailure(Throwable failure, String consequence) {
    Throwable cause = unwrap(failure);
    if (cause instanceof AuditLogFullException) {
      return Status.UNAVAILABLE.withDescription("audit log is full, " + consequence
          + "; retry shortly (" + cause.getMessage() + ")");
    }
    if (cause instanceof AuditLogUnavailableException) {
      return Status.UNAVAILABLE.withDescription("audit log unavailable, " + consequence
          + " (" + cause.getMessage() + ")");
    }
    LOG.log(Level.SEVERE, "audit append failed", cause);
    return Status.INTERNAL.withDescription("could not write the audit record, " + consequence
        + "; see control-plane log");
  }

  private static Throwable unwrap(Throwable t) {
    while ((t instanceof CompletionException || t instanceof ExecutionException)
        && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }

  /** Sends one response; a caller that gave up meanwhile is not an error here. */
  private static <T> void answer(StreamObserver<T> responses, T response) {
    try {
      responses.onNext(response);
      responses.onCompleted();
    } catch (RuntimeException e) {
      LOG.fine(() -> "caller gone before the answer: " + e);
    }
  }

  private static void error(StreamObserver<?> responses, Status status) {
    try {
      responses.onError(status.asRuntimeException());
    } catch (RuntimeException e) {
      LOG.fine(() -> "caller gone before the answer: " + e);
    }
  }

  @Override
  public void getToken(GetTokenRequest request, StreamObserver<TokenInfo> responses) {
    found(() -> lookup.get(request.getTokenId()), request.getTokenId(), responses);
  }

  @Override
  public void listTokens(ListTokensRequest request,
      StreamObserver<ListTokensResponse> responses) {
    try {
      responses.onNext(lookup.list(request));
      responses.onCompleted();
    } catch (InvalidQueryException e) {
      responses.onError(Status.INVALID_ARGUMENT.withDescription(e.getMessage())
          .asRuntimeException());
    } catch (RuntimeException e) {
      internal("list tokens", e, responses);
    }
  }

  @Override
  public void getLineage(GetLineageRequest request,
      StreamObserver<GetLineageResponse> responses) {
    found(() -> lookup.lineage(request.getTokenId()), request.getTokenId(), responses);
  }

  private static <T> void found(Supplier<Optional<T>> lookup, String tokenId,
      StreamObserver<T> responses) {
    try {
      if (tokenId.isEmpty()) {
        responses.onError(Status.INVALID_ARGUMENT.withDescription("token_id is required")
            .asRuntimeException());
        return;
      }
      Optional<T> result = lookup.get();
      if (result.isEmpty()) {
        // Echo only what is short enough to be an id, never (part of) a pasted token.
        String shown = tokenId.length() <= 32 ? "'" + tokenId + "'" : "(" + tokenId.length()
            + " characters; token ids have 22)";
        responses.onError(Status.NOT_FOUND.withDescription("token_id " + shown
            + " is not a token this control plane knows (tokens are forgotten an hour "
            + "after they expire)").asRuntimeException());
        return;
      }
      responses.onNext(result.get());
      responses.onCompleted();
    } catch (RuntimeException e) {
      internal("lookup", e, responses);
    }
  }

  private static void internal(String what, Throwable e, StreamObserver<?> responses) {
    LOG.log(Level.SEVERE, what + " failed", e);
    error(responses, Status.INTERNAL.withDescription(what + " failed; see control-plane log"));
  }
}
