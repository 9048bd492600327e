package io.perishable.authz.envoy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import io.perishable.authz.DenialReason;
import io.perishable.authz.body.RequestBodyInspector;
import io.perishable.authz.decision.Decision;
import org.junit.jupiter.api.Test;

class CheckWarmupTest {
  @Test
  void run_goesAsFarAsTheKeyLookup_andIsRefusedThere() {
    Decision decision = CheckWarmup.run(EngineFixture.engine(),
        new RequestBodyInspector(RequestBodyInspector.DEFAULT_MAX_DEPTH));

    // Past the envelope checks and the token codec, refused before any cache or limit: the
    // throwaway key is not one the replica trusts.
    Decision.Deny deny = assertInstanceOf(Decision.Deny.class, decision);
    assertEquals(DenialReason.TOKEN_UNKNOWN_KEY, deny.reason(), deny.message());
  }
}
