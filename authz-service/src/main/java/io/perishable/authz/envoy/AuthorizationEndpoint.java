package io.perishable.authz.envoy;

import io.envoyproxy.envoy.service.auth.v3.AuthorizationGrpc;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import io.grpc.stub.StreamObserver;
import io.perishable.authz.DenialReason;
import io.perishable.authz.budget.BudgetGate;
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
  private final BudgetGate budgets;

  public AuthorizationEndpoint(DecisionEngine engine, DecisionListener listener) {
    this(engine, listener, null);
  }

  /**
   * @param budgets reserves the worst case of allowed requests of tokens with a budget; null
   *     enforces no budgets
   */
  public AuthorizationEndpoint(DecisionEngine engine, DecisionListener listener,
      BudgetGate budgets) {
    this.engine = engine;
    this.listener = listener;
    this.budgets = budgets;
  }

  @Override
  public void check(CheckRequest request, StreamObserver<CheckResponse> responses) {
    long started = System.nanoTime();
    AuthzRequest domain = null;
    Decision decision;
    try {
      domain = CheckRequests.toDomain(request);
      decision = engine.decide(domain);
    } catch (RuntimeException e) {
      answer(domain, failed(e), started, responses);
      return;
    }
    if (budgets == null) {
      answer(domain, decision, started, responses);
      return;
    }
    AuthzRequest decided = domain;
    try {
      // Usually completes at once; waits only while a budget lease is being fetched.
      budgets.admit(domain, decision).whenComplete((admitted, failure) -> answer(decided,
          failure == null ? admitted : failed(failure), started, responses));
    } catch (RuntimeException e) {
      answer(domain, failed(e), started, responses);
    }
  }

  private static Decision failed(Throwable e) {
    LOG.log(Level.SEVERE, "check failed; denying", e);
    return new Decision.Deny(DenialReason.INTERNAL_ERROR,
        "the authorization service failed to decide; the request was not forwarded", null,
        false);
  }

  private void answer(AuthzRequest domain, Decision decision, long started,
      StreamObserver<CheckResponse> responses) {
    CheckResponse response;
    try {
      response = CheckResponses.toEnvoy(decision);
    } catch (RuntimeException e) {
      decision = failed(e);
      response = CheckResponses.toEnvoy(decision);
    }
    responses.onNext(response);
    responses.onCompleted();
    try {
      listener.decided(domain, decision, System.nanoTime() - started);
    } catch (RuntimeException e) {
      LOG.log(Level.WARNING, "decision listener failed", e);
    }
  }
}
