package io.perishable.bench;

import io.envoyproxy.envoy.service.auth.v3.AuthorizationGrpc;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.perishable.proto.v1.RevokeRequest;
import io.perishable.proto.v1.RevokeResponse;
import io.perishable.proto.v1.TokenServiceGrpc;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Revoke until enforced at every replica: {@code Revoke} returns only once every connected
 * authz-service replica has applied the rule and acked it, so its latency, measured one
 * revocation at a time, is the time from the operator's call to enforcement everywhere. Each
 * revocation names a token issued for it beforehand. Afterwards the last revoked token is
 * presented to every replica's Check, which must refuse it as {@code token_revoked}: the
 * benchmark checks that "acked" meant "enforced" (one refusal per replica).
 */
final class RevocationLatency {
  private RevocationLatency() {}

  /**
   * @param operator TokenService with the issuer secret
   * @param replicas Check targets ({@code host:port}) of every replica that must ack
   * @param warmup revocations before the measured ones (not counted)
   * @param measured revocations timed
   */
  static LoadResult measure(TokenServiceGrpc.TokenServiceBlockingStub operator,
      List<String> replicas, int warmup, int measured) {
    List<IssuedToken> tokens = new ArrayList<>();
    for (int i = 0; i < warmup + measured; i++) {
      var issued = operator.withDeadlineAfter(10, TimeUnit.SECONDS).issue(BenchStack
          .issueRequest(600).toBuilder().setAgentId("bench-revoked-" + i).build());
      tokens.add(new IssuedToken(issued.getTokenId(), issued.getToken()));
    }
    long[] nanos = new long[measured];
    long errors = 0;
    String detail = "";
    long started = System.nanoTime();
    for (int i = 0; i < warmup + measured; i++) {
      long start = System.nanoTime();
      RevokeResponse r = operator.withDeadlineAfter(10, TimeUnit.SECONDS).revoke(RevokeRequest
          .newBuilder().setTokenId(tokens.get(i).id()).setReason("bench").build());
      long elapsed = System.nanoTime() - start;
      if (r.getAckedReplicasCount() != replicas.size()) {
        errors++;
        detail = r.getAckedReplicasCount() + " of " + replicas.size() + " replicas acked";
      }
      if (i >= warmup) {
        nanos[i - warmup] = elapsed;
      }
    }
    double seconds = (System.nanoTime() - started) / 1e9;
    String last = tokens.get(tokens.size() - 1).token();
    for (String replica : replicas) {
      String outcome = checkOutcome(replica, last);
      if (!outcome.equals("token_revoked")) {
        errors++;
        detail = replica + " answered '" + outcome + "' for a revoked token";
      }
    }
    Arrays.sort(nanos);
    return new LoadResult("Revoke -> enforced at " + replicas.size() + " replicas", measured,
        (warmup + measured) / seconds, quantile(nanos, 0.50) / 1000.0,
        quantile(nanos, 0.99) / 1000.0, errors, detail);
  }

  private record IssuedToken(String id, String token) {}

  /** The denial's reason code (or "allowed") for the benchmark request with {@code token}. */
  private static String checkOutcome(String target, String token) {
    ManagedChannel channel = NettyChannelBuilder.forTarget(target).usePlaintext().build();
    try {
      CheckResponse response = AuthorizationGrpc.newBlockingStub(channel)
          .withDeadlineAfter(10, TimeUnit.SECONDS)
          .check(new BenchRequest(token).checkRequest());
      return response.getStatus().getCode() == 0 ? "allowed" : response.getStatus().getMessage();
    } finally {
      channel.shutdownNow();
    }
  }

  /** Nearest-rank quantile of sorted values. */
  static long quantile(long[] sorted, double q) {
    int index = (int) Math.ceil(q * sorted.length) - 1;
    return sorted[Math.max(0, Math.min(sorted.length - 1, index))];
  }
}
