package io.perishable.authz.envoy;

import io.envoyproxy.envoy.service.auth.v3.AuthorizationGrpc;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import io.grpc.stub.StreamObserver;
import io.perishable.authz.DenialReason;
import io.perishable.authz.decision.AuthzRequest;
import io.perishable.authz.decision.Decision;
import io.perishable.authz.decision.DecisionEngine;
import io.perishable.authz.decision.DecisionListener;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Envoy's ext_authz Check. Fails closed: an exception anywhere becomes a 503 denial with reason
 * {@code internal_error}, never an allow and never an error status Envoy would have to
 * interpret.
 */
public final class AuthorizationEndpoint extends AuthorizationGrpc.AuthorizationImplBase {
  private static final Logger LOG = Logger.getLogger(AuthorizationEndpoint.class.getName());

  private final DecisionEngine engine;
  private final DecisionListener listener;

  public AuthorizationEndpoint(DecisionEngine engine, DecisionListener listener) {
    this.engine = engine;
    this.listener = listener;
  }

  @Override
  public void check(CheckRequest request, StreamObserver<CheckResponse> responses) {
    long started = System.nanoTime();
    CheckResponse response;
    AuthzRequest domain = null;
    Decision decision;
    try {
      domain = CheckRequests.toDomain(request);
      decision = engine.decide(domain);
    } catch (RuntimeException e) {
      LOG.log(Level.SEVERE, "check failed; denying", e);
      decision = new Decision.Deny(DenialReason.INTERNAL_ERROR,
          "the authorization service failed to decide; the request was not forwarded", null,
          false);
    }
    response = CheckResponses.toEnvoy(decision);
    responses.onNext(response);
    responses.onCompleted();
    try {
      listener.decided(domain, decision, System.nanoTime() - started);
    } catch (RuntimeException e) {
      LOG.log(Level.WARNING, "decision listener failed", e);
    }
  }
}
