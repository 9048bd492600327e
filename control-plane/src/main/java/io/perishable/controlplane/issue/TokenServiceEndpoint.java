package io.perishable.controlplane.issue;

import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.perishable.controlplane.issuer.IssuerAuthenticator;
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
import io.perishable.proto.v1.TokenInfo;
import io.perishable.proto.v1.TokenServiceGrpc;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * gRPC glue for {@code perishable.v1.TokenService}: maps rejections onto statuses. Issuer
 * authentication happened in {@link IssuerAuthenticator} before any of this runs, except for
 * Issue calls without valid credentials, which are accepted here only with a parent token.
 */
public final class TokenServiceEndpoint extends TokenServiceGrpc.TokenServiceImplBase {
  private static final Logger LOG = Logger.getLogger(TokenServiceEndpoint.class.getName());

  /** Kept from a call's deadline so the answer still reaches the caller in time. */
  static final Duration DEADLINE_MARGIN = Duration.ofMillis(100);

  private final TokenIssuer issuer;
  private final Revoker revoker;
  private final TokenLookup lookup;

  public TokenServiceEndpoint(TokenIssuer issuer, Revoker revoker, TokenLookup lookup) {
    this.issuer = issuer;
    this.revoker = revoker;
    this.lookup = lookup;
  }

  @Override
  public void issue(IssueRequest request, StreamObserver<IssueResponse> responses) {
    String issuerId = IssuerAuthenticator.ISSUER_ID.get();
    if (issuerId == null && request.getParentToken().isEmpty()) {
      String problem = IssuerAuthenticator.CREDENTIAL_PROBLEM.get();
      responses.onError(Status.UNAUTHENTICATED
          .withDescription(problem != null ? problem : "missing issuer credentials")
          .asRuntimeException());
      return;
    }
    try {
      responses.onNext(issuer.issue(issuerId, request));
      responses.onCompleted();
    } catch (IssueRejectedException e) {
      LOG.fine(() -> "issue rejected for issuer=" + issuerId + ": " + e.getMessage());
      Status status;
      switch (e.kind()) {
        case PERMISSION_DENIED -> status = Status.PERMISSION_DENIED;
        case UNAUTHENTICATED -> status = Status.UNAUTHENTICATED;
        default -> status = Status.INVALID_ARGUMENT;
      }
      responses.onError(status.withDescription(e.getMessage()).asRuntimeException());
    } catch (RuntimeException e) {
      internal("issue", e, responses);
    }
  }

  @Override
  public void revoke(RevokeRequest request, StreamObserver<RevokeResponse> responses) {
    String issuerId = IssuerAuthenticator.ISSUER_ID.get();
    try {
      Deadline deadline = Context.current().getDeadline();
      Optional<Duration> maxWait = deadline == null ? Optional.empty() : Optional.of(
          Duration.ofNanos(deadline.timeRemaining(TimeUnit.NANOSECONDS))
              .minus(DEADLINE_MARGIN));
      Revoker.Outcome outcome = revoker.revoke(issuerId, request, maxWait);
      RevokeResponse.Builder response = RevokeResponse.newBuilder()
          .setRuleId(outcome.rule().getRuleId())
          .setTokensCovered(outcome.tokensCovered())
          .setRuleExpiresAt(TokenIssuer.timestamp(outcome.rule().getExpiresAtMs()))
          .setReplicaAckSkipped(outcome.propagation().isEmpty());
      outcome.propagation().ifPresent(p -> response
          .addAllAckedReplicas(p.acked())
          .addAllUnackedReplicas(p.unacked()));
      responses.onNext(response.build());
      responses.onCompleted();
    } catch (RevokeRejectedException e) {
      LOG.fine(() -> "revoke rejected for issuer=" + issuerId + ": " + e.getMessage());
      Status status = e.kind() == RevokeRejectedException.Kind.NOT_FOUND
          ? Status.NOT_FOUND : Status.INVALID_ARGUMENT;
      responses.onError(status.withDescription(e.getMessage()).asRuntimeException());
    } catch (RuntimeException e) {
      internal("revoke", e, responses);
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
            + " is not a token this control plane knows (tokens minted before its last "
            + "restart are not indexed)").asRuntimeException());
        return;
      }
      responses.onNext(result.get());
      responses.onCompleted();
    } catch (RuntimeException e) {
      internal("lookup", e, responses);
    }
  }

  private static void internal(String what, RuntimeException e, StreamObserver<?> responses) {
    LOG.log(Level.SEVERE, what + " failed", e);
    responses.onError(Status.INTERNAL.withDescription(what + " failed; see control-plane log")
        .asRuntimeException());
  }
}
