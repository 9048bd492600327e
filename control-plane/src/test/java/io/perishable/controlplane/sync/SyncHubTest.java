package io.perishable.controlplane.sync;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.grpc.stub.StreamObserver;
import io.perishable.controlplane.InProcessGrpc;
import io.perishable.proto.v1.Ack;
import io.perishable.proto.v1.Delta;
import io.perishable.proto.v1.Hello;
import io.perishable.proto.v1.PublicKey;
import io.perishable.proto.v1.RevocationRule;
import io.perishable.proto.v1.Snapshot;
import io.perishable.proto.v1.SyncRequest;
import io.perishable.proto.v1.SyncResponse;
import io.perishable.proto.v1.SyncServiceGrpc;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class SyncHubTest {
  @RegisterExtension
  final InProcessGrpc grpc = new InProcessGrpc();

  private final ScheduledExecutorService scheduler = Executors.newScheduledThreadPool(1);
  private final Snapshot snapshot = Snapshot.newBuilder()
      .addKeys(PublicKey.newBuilder().setKeyId("00112233aabbccdd")).build();
  private final SyncHub hub = new SyncHub(() -> snapshot, Clock.systemUTC(),
      Duration.ofMillis(20), scheduler);

  @AfterEach
  void stop() {
    hub.close();
    scheduler.shutdownNow();
  }

  /** Collects what the hub sends. */
  private static final class Recorder implements StreamObserver<SyncResponse> {
    final BlockingQueue<SyncResponse> received = new LinkedBlockingQueue<>();

    @Override
    public void onNext(SyncResponse value) {
      received.add(value);
    }

    @Override
    public void onError(Throwable t) {}

    @Override
    public void onCompleted() {}

    SyncResponse next() throws InterruptedException {
      SyncResponse r = received.poll(5, TimeUnit.SECONDS);
      if (r == null) {
        throw new AssertionError("nothing received within 5s");
      }
      return r;
    }
  }

  @Test
  void sync_hello_getsSnapshotAsSeq1ThenHeartbeats() throws Exception {
    ManagedChannel channel = grpc.serve(hub);
    Recorder recorder = new Recorder();
    StreamObserver<SyncRequest> requests = SyncServiceGrpc.newStub(channel).sync(recorder);
    requests.onNext(SyncRequest.newBuilder()
        .setHello(Hello.newBuilder().setReplicaId("replica-a")).build());

    SyncResponse first = recorder.next();
    assertEquals(1, first.getSeq());
    assertEquals(snapshot, first.getSnapshot());
    SyncResponse heartbeat = recorder.next();
    assertTrue(heartbeat.hasHeartbeat());
    assertEquals(1, heartbeat.getSeq(), "heartbeats repeat the last seq");
  }

  @Test
  void sync_ack_isRecordedPerReplica() throws Exception {
    ManagedChannel channel = grpc.serve(hub);
    Recorder recorder = new Recorder();
    StreamObserver<SyncRequest> requests = SyncServiceGrpc.newStub(channel).sync(recorder);
    requests.onNext(SyncRequest.newBuilder()
        .setHello(Hello.newBuilder().setReplicaId("replica-a")).build());
    recorder.next();
    requests.onNext(SyncRequest.newBuilder().setAck(Ack.newBuilder().setSeq(1)).build());

    Instant deadline = Instant.now().plusSeconds(5);
    List<SyncHub.ReplicaStatus> replicas = hub.replicas();
    while (replicas.isEmpty() || replicas.get(0).lastAckedSeq() < 1) {
      assertTrue(Instant.now().isBefore(deadline), "ack not recorded: " + replicas);
      Thread.onSpinWait();
      replicas = hub.replicas();
    }
    assertEquals(new SyncHub.ReplicaStatus("replica-a", 1, 1), replicas.get(0));
  }

  @Test
  void sync_streamCancelled_replicaForgotten() throws Exception {
    ManagedChannel channel = grpc.serve(hub);
    Recorder recorder = new Recorder();
    var call = SyncServiceGrpc.newStub(channel).sync(recorder);
    call.onNext(SyncRequest.newBuilder()
        .setHello(Hello.newBuilder().setReplicaId("replica-b")).build());
    recorder.next();
    assertEquals(1, hub.replicas().size());

    call.onError(new RuntimeException("replica going away"));

    Instant deadline = Instant.now().plusSeconds(5);
    while (!hub.replicas().isEmpty()) {
      assertTrue(Instant.now().isBefore(deadline), "replica still listed");
      Thread.onSpinWait();
    }
  }

  private StreamObserver<SyncRequest> connect(ManagedChannel channel, String replicaId,
      Recorder recorder) throws InterruptedException {
    StreamObserver<SyncRequest> requests = SyncServiceGrpc.newStub(channel).sync(recorder);
    requests.onNext(SyncRequest.newBuilder()
        .setHello(Hello.newBuilder().setReplicaId(replicaId)).build());
    assertEquals(1, recorder.next().getSeq());
    return requests;
  }

  private static Delta ruleDelta(String ruleId) {
    return Delta.newBuilder().addAddedRules(RevocationRule.newBuilder().setRuleId(ruleId)
        .setAgentId("agent-1")).build();
  }

  private static SyncResponse nextDelta(Recorder recorder) throws InterruptedException {
    SyncResponse r = recorder.next();
    while (r.hasHeartbeat()) {
      r = recorder.next();
    }
    return r;
  }

  @Test
  void publish_deltaFollowsSnapshotAsSeq2AndReturnsOnceEveryReplicaAcked() throws Exception {
    ManagedChannel channel = grpc.serve(hub);
    Recorder a = new Recorder();
    Recorder b = new Recorder();
    StreamObserver<SyncRequest> toA = connect(channel, "replica-a", a);
    StreamObserver<SyncRequest> toB = connect(channel, "replica-b", b);
    // Both replicas ack whatever delta they receive, from their own threads.
    ExecutorService replicas = Executors.newFixedThreadPool(2);
    try {
      Future<?> ackA = replicas.submit(() -> ackNextDelta(a, toA));
      Future<?> ackB = replicas.submit(() -> ackNextDelta(b, toB));

      SyncHub.Propagation p = hub.publish(ruleDelta("rvk_1"), Duration.ofSeconds(5));

      ackA.get(5, TimeUnit.SECONDS);
      ackB.get(5, TimeUnit.SECONDS);
      assertEquals(List.of("replica-a", "replica-b"), p.acked().stream().sorted().toList());
      assertEquals(List.of(), p.unacked());
    } finally {
      replicas.shutdownNow();
    }
  }

  private static Void ackNextDelta(Recorder recorder, StreamObserver<SyncRequest> out)
      throws InterruptedException {
    SyncResponse delta = nextDelta(recorder);
    assertEquals(2, delta.getSeq());
    assertEquals("rvk_1", delta.getDelta().getAddedRules(0).getRuleId());
    synchronized (out) {
      out.onNext(SyncRequest.newBuilder().setAck(Ack.newBuilder().setSeq(delta.getSeq()))
          .build());
    }
    return null;
  }

  @Test
  void publish_replicaThatNeverAcks_reportedUnackedAfterTheTimeout() throws Exception {
    ManagedChannel channel = grpc.serve(hub);
    Recorder silent = new Recorder();
    connect(channel, "replica-silent", silent);

    SyncHub.Propagation p = hub.publish(ruleDelta("rvk_2"), Duration.ofMillis(200));

    assertEquals(List.of(), p.acked());
    assertEquals(List.of("replica-silent"), p.unacked());
    assertEquals(2, nextDelta(silent).getSeq(), "the delta was still sent");
  }

  @Test
  void publish_zeroTimeout_sendsWithoutWaiting() throws Exception {
    ManagedChannel channel = grpc.serve(hub);
    Recorder replica = new Recorder();
    connect(channel, "replica-a", replica);

    SyncHub.Propagation p = hub.publish(ruleDelta("rvk_3"), Duration.ZERO);

    assertEquals(List.of("replica-a"), p.unacked());
    assertEquals("rvk_3", nextDelta(replica).getDelta().getAddedRules(0).getRuleId());
  }
}
