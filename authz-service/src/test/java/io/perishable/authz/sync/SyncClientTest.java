package io.perishable.authz.sync;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import io.perishable.authz.revocation.RevocationSet;
import io.perishable.authz.testing.MutableClock;
import io.perishable.authz.token.KeyRing;
import io.perishable.authz.token.TokenVerifier;
import io.perishable.authz.token.VerifiedToken;
import io.perishable.proto.v1.Delta;
import io.perishable.proto.v1.PublicKey;
import io.perishable.proto.v1.RevocationRule;
import io.perishable.proto.v1.Snapshot;
import io.perishable.proto.v1.SyncRequest;
import io.perishable.proto.v1.SyncResponse;
import io.perishable.proto.v1.SyncServiceGrpc;
import io.perishable.proto.v1.TokenClaims;
import io.perishable.token.SigningKey;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The Sync client against a scripted control plane (in-process gRPC): what it applies, in
 * which order, when it acks, and how it measures silence on a fake ticker.
 */
class SyncClientTest {
  private final SigningKey key = SigningKey.generate(0);
  private final KeyRing keys = new KeyRing();
  private final RevocationSet revocations = new RevocationSet();
  private final AtomicLong ticker = new AtomicLong(1_000_000_000L);
  private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
  private final BlockingQueue<SyncRequest> fromReplica = new LinkedBlockingQueue<>();
  private final BlockingQueue<StreamObserver<SyncResponse>> streams = new LinkedBlockingQueue<>();
  private Server server;
  private ManagedChannel channel;
  private SyncClient client;
  /** What the replica had applied when each ack arrived: rules in force at that moment. */
  private final BlockingQueue<Integer> rulesAtAck = new LinkedBlockingQueue<>();

  @BeforeEach
  void start() throws Exception {
    String name = InProcessServerBuilder.generateName();
    server = InProcessServerBuilder.forName(name).directExecutor()
        .addService(new SyncServiceGrpc.SyncServiceImplBase() {
          @Override
          public StreamObserver<SyncRequest> sync(StreamObserver<SyncResponse> out) {
            streams.add(out);
            return new StreamObserver<>() {
              @Override
              public void onNext(SyncRequest request) {
                if (request.hasAck()) {
                  rulesAtAck.add(revocations.size());
                }
                fromReplica.add(request);
              }

              @Override
              public void onError(Throwable t) {}

              @Override
              public void onCompleted() {}
            };
          }
        }).build().start();
    channel = InProcessChannelBuilder.forName(name).directExecutor().build();
    client = new SyncClient(channel, "replica-t", keys, revocations,
        new TokenVerifier(keys, new MutableClock(Instant.EPOCH), Duration.ZERO, 10),
        ticker::get, scheduler, () -> {});
    client.start();
  }

  @AfterEach
  void stop() throws Exception {
    client.close();
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    scheduler.shutdownNow();
  }

  private SyncRequest next() throws InterruptedException {
    SyncRequest r = fromReplica.poll(5, TimeUnit.SECONDS);
    if (r == null) {
      throw new AssertionError("replica sent nothing within 5s");
    }
    return r;
  }

  private PublicKey publicKey() {
    return PublicKey.newBuilder().setKeyId(key.keyId())
        .setEd25519(ByteString.copyFrom(key.rawPublicKey())).build();
  }

  private static RevocationRule agentRule(String id, String agent) {
    return RevocationRule.newBuilder().setRuleId(id).setAgentId(agent)
        .setExpiresAtMs(Long.MAX_VALUE).setReason("test").build();
  }

  private static VerifiedToken agentToken(String agent) {
    return VerifiedToken.of(TokenClaims.newBuilder().setTokenId("t-" + agent).setAgentId(agent)
        .build());
  }

  @Test
  void snapshotThenDeltas_appliedInOrderAndAckedOnlyAfterApplying() throws Exception {
    assertEquals("replica-t", next().getHello().getReplicaId());
    StreamObserver<SyncResponse> out = streams.take();

    out.onNext(SyncResponse.newBuilder().setSeq(1).setSnapshot(Snapshot.newBuilder()
        .addKeys(publicKey()).addRules(agentRule("r1", "agent-1"))).build());
    assertEquals(1, next().getAck().getSeq());
    assertEquals(1, rulesAtAck.take(), "the snapshot's rule was in force when it was acked");
    assertTrue(client.hasSnapshot());

    out.onNext(SyncResponse.newBuilder().setSeq(2).setDelta(Delta.newBuilder()
        .addAddedRules(agentRule("r2", "agent-2"))).build());
    assertEquals(2, next().getAck().getSeq());
    assertEquals(2, rulesAtAck.take(), "the delta's rule was in force when it was acked");
    assertTrue(revocations.match(agentToken("agent-1")).isPresent());
    assertTrue(revocations.match(agentToken("agent-2")).isPresent());
    assertFalse(revocations.match(agentToken("agent-3")).isPresent());
  }

  @Test
  void reconnect_freshSnapshotReplacesEverything() throws Exception {
    next();
    StreamObserver<SyncResponse> first = streams.take();
    first.onNext(SyncResponse.newBuilder().setSeq(1).setSnapshot(Snapshot.newBuilder()
        .addKeys(publicKey()).addRules(agentRule("r1", "agent-1"))).build());
    next();
    first.onCompleted();

    // The client reconnects (after its backoff) and says Hello again.
    assertEquals("replica-t", next().getHello().getReplicaId());
    StreamObserver<SyncResponse> second = streams.take();
    second.onNext(SyncResponse.newBuilder().setSeq(1).setSnapshot(Snapshot.newBuilder()
        .addKeys(publicKey()).addRules(agentRule("r2", "agent-2"))).build());
    assertEquals(1, next().getAck().getSeq());
    assertFalse(revocations.match(agentToken("agent-1")).isPresent());
    assertTrue(revocations.match(agentToken("agent-2")).isPresent());
  }

  @Test
  void silence_growsWithTheTickerAndResetsOnEveryMessage() throws Exception {
    next();
    StreamObserver<SyncResponse> out = streams.take();
    out.onNext(SyncResponse.newBuilder().setSeq(1).setSnapshot(Snapshot.newBuilder()
        .addKeys(publicKey())).build());
    next();
    assertEquals(Duration.ZERO, client.silence());

    ticker.addAndGet(Duration.ofSeconds(61).toNanos());
    assertEquals(Duration.ofSeconds(61), client.silence());

    out.onNext(SyncResponse.newBuilder().setSeq(1).setHeartbeat(
        io.perishable.proto.v1.Heartbeat.getDefaultInstance()).build());
    assertEquals(Duration.ZERO, client.silence());
  }
}
