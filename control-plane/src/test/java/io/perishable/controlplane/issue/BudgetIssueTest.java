package io.perishable.controlplane.issue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.google.protobuf.Duration;
import io.perishable.controlplane.MutableClock;
import io.perishable.controlplane.TestConfigs;
import io.perishable.controlplane.budget.BudgetLedger;
import io.perishable.controlplane.keys.SigningKeyStore;
import io.perishable.controlplane.revocation.RevocationRules;
import io.perishable.controlplane.tokens.InMemoryTokenIndex;
import io.perishable.proto.v1.IssueRequest;
import io.perishable.proto.v1.IssueResponse;
import io.perishable.token.TokenCodec;
import java.nio.file.Path;
import java.time.Instant;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Issue with budgets: the budget is signed into the claims and its account opened. */
class BudgetIssueTest {
  @TempDir Path dataDir;

  private final MutableClock clock = new MutableClock(Instant.parse("2026-11-25T00:00:00Z"));
  private final BudgetLedger ledger =
      new BudgetLedger(clock, java.time.Duration.ofSeconds(30));
  private TokenIssuer issuer;
  private TokenIssuer withoutBudgets;

  @BeforeEach
  void start() {
    var config = TestConfigs.controlPlane(dataDir);
    SigningKeyStore keys = SigningKeyStore.open(dataDir, clock);
    issuer = new TokenIssuer(new IssuancePolicy(config), keys, clock, new InMemoryTokenIndex(),
        new RevocationRules(), ledger);
    withoutBudgets = new TokenIssuer(new IssuancePolicy(config), keys, clock,
        new InMemoryTokenIndex(), new RevocationRules());
  }

  private static IssueRequest.Builder request() {
    return IssueRequest.newBuilder().setAgentId("agent-1").addScopes("llm:complete")
        .setTtl(Duration.newBuilder().setSeconds(600));
  }

  private IssueResponse child(IssueResponse parent, IssueRequest.Builder request) {
    return issuer.issue(null, request.setAgentId("agent-1/sub")
        .setParentToken(parent.getToken()).build());
  }

  @Test
  void root_budgetSignedIntoClaimsAndGrant_accountOpened() {
    IssueResponse root = issuer.issue("ops", request().setBudgetTokens(5000).build());

    assertEquals(5000, TokenCodec.decode(root.getToken()).claims().getBudgetTokens());
    assertEquals(5000, root.getGrant().getBudgetTokens());
    assertEquals(5000, ledger.usage(root.getTokenId()).available());
  }

  @Test
  void root_noBudget_zeroAndNoAccount() {
    IssueResponse root = issuer.issue("ops", request().build());
    assertEquals(0, TokenCodec.decode(root.getToken()).claims().getBudgetTokens());
  }

  @Test
  void child_ofBudgetedParent_inheritsWhatIsAvailable_andIsChargedToIt() {
    IssueResponse root = issuer.issue("ops", request().setBudgetTokens(5000).build());

    IssueResponse sub = child(root, request());

    assertEquals(5000, TokenCodec.decode(sub.getToken()).claims().getBudgetTokens());
    var lease = ledger.grant(sub.getTokenId(), "r1", 100).orElseThrow();
    ledger.settle(lease.leaseId(), 100);
    assertEquals(4900, ledger.usage(root.getTokenId()).available());
  }

  @Test
  void child_asksMoreThanParent_deniedOrNarrowed() {
    IssueResponse root = issuer.issue("ops", request().setBudgetTokens(5000).build());

    IssueRejectedException e = assertThrows(IssueRejectedException.class,
        () -> child(root, request().setBudgetTokens(6000)));
    assertEquals(IssueRejectedException.Kind.PERMISSION_DENIED, e.kind());
    IssueResponse narrowed = child(root, request().setBudgetTokens(6000).setNarrowToParent(true));
    assertEquals(5000, narrowed.getGrant().getBudgetTokens());
  }

  @Test
  void budget_onControlPlaneWithoutBudgets_invalid() {
    IssueRejectedException e = assertThrows(IssueRejectedException.class,
        () -> withoutBudgets.issue("ops", request().setBudgetTokens(10).build()));
    assertEquals(IssueRejectedException.Kind.INVALID_ARGUMENT, e.kind());
  }
}
