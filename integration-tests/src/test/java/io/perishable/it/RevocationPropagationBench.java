package io.perishable.it;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.protobuf.Duration;
import io.perishable.proto.v1.IssueRequest;
import io.perishable.proto.v1.IssueResponse;
import io.perishable.proto.v1.RevokeRequest;
import io.perishable.proto.v1.RevokeResponse;
import io.perishable.proto.v1.TokenServiceGrpc;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Not a test: measures the time from calling {@code Revoke} to every replica enforcing it
 * (Revoke returns only once all four replicas have applied and acked the rule), over 1,000
 * revocations on loopback, and prints p50/p90/p99/max. It asserts only that every replica
 * acked, never a duration. Run it on purpose:
 *
 * <pre>
 * ./mvnw -B -o -pl integration-tests test -Dtest=RevocationPropagationBench \
 *     -Dperishable.bench=true -Dsurefire.failIfNoSpecifiedTests=false
 * </pre>
 */
@EnabledIfSystemProperty(named = "perishable.bench", matches = "true")
class RevocationPropagationBench {
  private static final int REPLICAS = 4;
  private static final int WARMUP = 200;
  private static final int MEASURED = 1000;

  @Test
  void revokeToEnforcementAtAllReplicas() throws Exception {
    try (ReplicatedStack stack = new ReplicatedStack(REPLICAS)) {
      TokenServiceGrpc.TokenServiceBlockingStub operator = stack.operator();
      List<String> ids = new ArrayList<>();
      for (int i = 0; i < WARMUP + MEASURED; i++) {
        IssueResponse token = operator.issue(IssueRequest.newBuilder()
            .setAgentId("bench-" + i).addScopes("llm:complete")
            .setTtl(Duration.newBuilder().setSeconds(600)).build());
        ids.add(token.getTokenId());
      }
      long[] nanos = new long[MEASURED];
      for (int i = 0; i < WARMUP + MEASURED; i++) {
        long start = System.nanoTime();
        RevokeResponse r = stack.operator().revoke(RevokeRequest.newBuilder()
            .setTokenId(ids.get(i)).setReason("bench").build());
        long elapsed = System.nanoTime() - start;
        assertEquals(REPLICAS, r.getAckedReplicasCount(), "every replica acked");
        if (i >= WARMUP) {
          nanos[i - WARMUP] = elapsed;
        }
      }
      Arrays.sort(nanos);
      System.out.printf("revoke -> enforced at all %d replicas, %d revocations: "
              + "p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms%n", REPLICAS, MEASURED,
          ms(nanos, 0.50), ms(nanos, 0.90), ms(nanos, 0.99), nanos[MEASURED - 1] / 1e6);
    }
  }

  private static double ms(long[] sorted, double quantile) {
    int index = (int) Math.ceil(quantile * sorted.length) - 1;
    return sorted[Math.max(0, index)] / 1e6;
  }
}
