package io.perishable.controlplane.issue;

import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.perishable.controlplane.issuer.IssuerAuthenticator;
import io.perishable.proto.v1.IssueRequest;
import io.perishable.proto.v1.IssueResponse;
import io.perishable.proto.v1.TokenServiceGrpc;
import java.util.logging.Level;
import java.util.logging.Logger;

/** gRPC glue for {@code perishable.v1.TokenService}: maps rejections onto statuses. */
public final class TokenServiceEndpoint extends TokenServiceGrpc.TokenServiceImplBase {
  private static final Logger LOG = Logger.getLogger(TokenServiceEndpoint.class.getName());

  private final TokenIssuer issuer;

  public TokenServiceEndpoint(TokenIssuer issuer) {
    this.issuer = issuer;
  }

  @Override
  public void issue(IssueRequest request, StreamObserver<IssueResponse> responses) {
    String issuerId = IssuerAuthenticator.ISSUER_ID.get();
    try {
      responses.onNext(issuer.issue(issuerId, request));
      responses.onCompleted();
    } catch (IssueRejectedException e) {
      LOG.fine(() -> "issue rejected for issuer=" + issuerId + ": " + e.getMessage());
      Status status = e.kind() == IssueRejectedException.Kind.PERMISSION_DENIED
          ? Status.PERMISSION_DENIED
          : Status.INVALID_ARGUMENT;
      responses.onError(status.withDescription(e.getMessage()).asRuntimeException());
    } catch (RuntimeException e) {
      LOG.log(Level.SEVERE, "issue failed", e);
      responses.onError(Status.INTERNAL.withDescription("issue failed; see control-plane log")
          .asRuntimeException());
    }
  }
}
