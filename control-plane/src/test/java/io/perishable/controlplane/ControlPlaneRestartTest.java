package io.perishable.controlplane;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Duration;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import io.perishable.controlplane.audit.AuditLogCorruptedException;
import io.perishable.controlplane.audit.AuditVerifier;
import io.perishable.controlplane.config.ControlPlaneConfig;
import io.perishable.proto.v1.AuditEvent;
import io.perishable.proto.v1.AuditServiceGrpc;
import io.perishable.proto.v1.BudgetLease;
import io.perishable.proto.v1.BudgetServiceGrpc;
import io.perishable.proto.v1.BudgetStatus;
import io.perishable.proto.v1.GetUsageRequest;
import io.perishable.proto.v1.GetTokenRequest;
import io.perishable.proto.v1.Hello;
import io.perishable.proto.v1.IssueRequest;
import io.perishable.proto.v1.IssueResponse;
import io.perishable.proto.v1.LeaseRequest;
import io.perishable.proto.v1.ListTokensRequest;
import io.perishable.proto.v1.RenewRequest;
import io.perishable.proto.v1.ReturnRequest;
import io.perishable.proto.v1.RevocationRule;
import io.perishable.proto.v1.RevokeRequest;
import io.perishable.proto.v1.RevokeResponse;
import io.perishable.proto.v1.SyncRequest;
import io.perishable.proto.v1.SyncResponse;
import io.perishable.proto.v1.SyncServiceGrpc;
import io.perishable.proto.v1.TokenServiceGrpc;
import io.perishable.proto.v1.TokenState;
import io.perishable.proto.v1.WatchRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole control plane on loopback, stopped and started again on the same data_dir: what
 * the audit log brings back, and what a damaged log does to a start.
 */
class ControlPlaneRestartTest {
  @TempDir
  Path dataDir;

  private final List<AutoCloseable> open = new ArrayList<>();

  @AfterEach
  void closeAll() throws Exception {
    for (int i = open.size() - 1; i >= 0; i--) {
      open.get(i).close();
    }
  }

  private ControlPlaneServer start() {
    ControlPlaneServer server = ControlPlaneServer.start(config(), Clock.systemUTC());
    open.add(server);
    return server;
  }

  private ControlPlaneConfig config() {
    return TestConfigs.controlPlane(dataDir);
  }

  private ManagedChannel channel(ControlPlaneServer server) {
    ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", server.port())
        .usePlaintext().build();
    open.add(channel::shutdownNow);
    return channel;
  }

  private static Metadata auth() {
    Metadata headers = new Metadata();
    headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER),
        "Bearer " + TestConfigs.ISSUER_SECRET);
    return headers;
  }

  private TokenServiceGrpc.TokenServiceBlockingStub tokens(ControlPlaneServer server) {
    return TokenServiceGrpc.newBlockingStub(channel(server))
        .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(auth()))
        .withDeadlineAfter(20, TimeUnit.SECONDS);
  }

  private static IssueRequest request(String agent) {
    return IssueRequest.newBuilder().setAgentId(agent).addScopes("llm:complete")
        .addModels("gpt-4o-mini").setTtl(Duration.newBuilder().setSeconds(600))
        .putLabels("team", "search").build();
  }

  /** The snapshot a replica receives on connecting. */
  private List<RevocationRule> snapshotRules(ControlPlaneServer server) throws Exception {
    LinkedBlockingQueue<SyncResponse> received = new LinkedBlockingQueue<>();
    StreamObserver<SyncRequest> requests = SyncServiceGrpc.newStub(channel(server))
        .sync(new StreamObserver<>() {
          @Override
          public void onNext(SyncResponse value) {
            received.add(value);
          }

          @Override
          public void onError(Throwable t) {}

          @Override
          public void onCompleted() {}
        });
    requests.onNext(SyncRequest.newBuilder()
        .setHello(Hello.newBuilder().setReplicaId("replica-test")).build());
    SyncResponse first = received.poll(10, TimeUnit.SECONDS);
    requests.onCompleted();
    return first.getSnapshot().getRulesList();
  }

  private BudgetServiceGrpc.BudgetServiceBlockingStub budgets(ControlPlaneServer server) {
    return BudgetServiceGrpc.newBlockingStub(channel(server))
        .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(auth()))
        .withDeadlineAfter(20, TimeUnit.SECONDS);
  }

  @Test
  void restart_budgetSpendAndOutstandingLeasesSurvive() throws Exception {
    ControlPlaneServer first = start();
    IssueResponse token = tokens(first).issue(request("spender").toBuilder()
        .setBudgetTokens(10_000).build());
    var budget = budgets(first);
    BudgetLease settled = budget.lease(LeaseRequest.newBuilder().setReplicaId("authz-1")
        .setTokenId(token.getTokenId()).setAmount(4_000).build()).getLease();
    budget.return_(ReturnRequest.newBuilder().setLeaseId(settled.getLeaseId()).setUsed(1_234)
        .build());
    BudgetLease held = budget.lease(LeaseRequest.newBuilder().setReplicaId("authz-1")
        .setTokenId(token.getTokenId()).setAmount(2_000).build()).getLease();
    GetUsageRequest usage = GetUsageRequest.newBuilder().setTokenId(token.getTokenId()).build();
    BudgetStatus before = budget.getUsage(usage);
    first.close();
    open.remove(first);

    ControlPlaneServer second = start();
    var again = budgets(second);

    assertEquals(before, again.getUsage(usage), "spent 1234, 2000 leased, as before");
    assertEquals(BudgetStatus.newBuilder().setTokenId(token.getTokenId()).setBudget(10_000)
        .setSpent(1_234).setLeased(2_000).setAvailable(6_766).build(), before);
    // The replica renews and returns its lease under the id it had.
    again.renew(RenewRequest.newBuilder().setLeaseId(held.getLeaseId()).setUsed(10).build());
    again.return_(ReturnRequest.newBuilder().setLeaseId(held.getLeaseId()).setUsed(66).build());
    assertEquals(1_300, again.getUsage(usage).getSpent());
  }

  @Test
  void restart_bringsBackTheIndexAndTheRules_andRevokeByIdStillWorks() throws Exception {
    ControlPlaneServer first = start();
    var stub = tokens(first);
    IssueResponse parent = stub.issue(request("agent-1"));
    IssueResponse revokedLater = stub.issue(request("agent-2"));
    IssueResponse crawler = stub.issue(request("crawler-7"));
    RevokeResponse agentRule = stub.revoke(RevokeRequest.newBuilder().setAgentId("crawler-7")
        .setReason("looping").build());
    first.close();
    open.remove(first);
    long headAtClose = first.auditHeadSeq();

    ControlPlaneServer second = start();
    assertEquals(headAtClose, second.replay().fromSnapshotSeq(),
        "a clean shutdown snapshots the state at its final checkpoint");
    assertEquals(0, second.replay().records());
    var after = tokens(second);
    assertEquals(3, after.listTokens(ListTokensRequest.getDefaultInstance()).getTokensCount());
    var info = after.getToken(GetTokenRequest.newBuilder().setTokenId(parent.getTokenId())
        .build());
    assertEquals(TokenState.TOKEN_STATE_LIVE, info.getState());
    assertEquals("search", info.getGrant().getLabelsMap().get("team"));
    assertEquals(parent.getGrant(), info.getGrant());
    assertEquals(TokenState.TOKEN_STATE_REVOKED, after.getToken(GetTokenRequest.newBuilder()
        .setTokenId(crawler.getTokenId()).build()).getState());
    assertEquals(List.of(agentRule.getRuleId()), snapshotRules(second).stream()
        .map(RevocationRule::getRuleId).toList());

    RevokeResponse byId = after.revoke(RevokeRequest.newBuilder()
        .setTokenId(revokedLater.getTokenId()).setReason("leaked").build());
    assertEquals(1, byId.getTokensCovered());
    second.close();
    open.remove(second);

    // Without snapshots, the same state comes from a replay from seq 1.
    try (Stream<Path> files = Files.list(dataDir.resolve("audit").resolve("snapshots"))) {
      for (Path f : files.toList()) {
        Files.delete(f);
      }
    }
    ControlPlaneServer third = start();
    assertEquals(0, third.replay().fromSnapshotSeq());
    assertEquals(third.auditHeadSeq(), third.replay().records());
    assertEquals(2, snapshotRules(third).size(), "both rules are in the reconnect snapshot");
    assertEquals(TokenState.TOKEN_STATE_REVOKED, tokens(third).getToken(GetTokenRequest
        .newBuilder().setTokenId(revokedLater.getTokenId()).build()).getState());
    third.close();
    open.remove(third);

    AuditVerifier.Report report = AuditVerifier.trusting(third.checkpointPublicKeys())
        .verifyLog(dataDir.resolve("audit"));
    assertTrue(report.ok(), report.toString());
    String log = allLines();
    assertEquals(1, count(log, "\"type\":\"key_rotated\""), "the key is announced once");
    assertEquals(3, count(log, "\"type\":\"issued\""));
    assertEquals(2, count(log, "\"type\":\"revoked\""));
    assertTrue(!log.contains("prs_"), "a token reached the audit log");
  }

  @Test
  void watch_streamsTheLogFromASeqThenLive() throws Exception {
    ControlPlaneServer server = start();
    var stub = tokens(server);
    IssueResponse first = stub.issue(request("agent-1"));
    Iterator<AuditEvent> events = AuditServiceGrpc.newBlockingStub(channel(server))
        .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(auth()))
        .withDeadlineAfter(20, TimeUnit.SECONDS)
        .watch(WatchRequest.newBuilder().setFromSeq(1).build());

    AuditEvent keyRotated = events.next();
    assertEquals(1, keyRotated.getSeq());
    assertTrue(keyRotated.getCanonicalJson().toStringUtf8().contains("\"key_rotated\""));
    AuditEvent issued = events.next();
    assertTrue(issued.getCanonicalJson().toStringUtf8().contains(first.getTokenId()));
    assertEquals(keyRotated.getHash(), issued.getPrevHash());
    IssueResponse live = stub.issue(request("agent-2"));
    AuditEvent next = events.next();
    assertEquals(3, next.getSeq());
    assertTrue(next.getCanonicalJson().toStringUtf8().contains(live.getTokenId()));
  }

  @Test
  void watch_withoutIssuerSecret_unauthenticated() {
    ControlPlaneServer server = start();
    Iterator<AuditEvent> events = AuditServiceGrpc.newBlockingStub(channel(server))
        .watch(WatchRequest.newBuilder().setFromSeq(1).build());
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class, events::hasNext);
    assertEquals(Status.Code.UNAUTHENTICATED, e.getStatus().getCode());
  }

  @Test
  void damagedLog_refusesToStartNamingTheSeq_unlessQuarantined() throws Exception {
    ControlPlaneServer first = start();
    tokens(first).issue(request("agent-1"));
    first.close();
    open.remove(first);
    Path segment;
    try (Stream<Path> files = Files.list(dataDir.resolve("audit"))) {
      segment = files.filter(p -> p.getFileName().toString().endsWith(".jsonl")).sorted()
          .reduce((a, b) -> b).orElseThrow();
    }
    long good = Files.readAllLines(segment).size();
    Files.writeString(segment, "{\"seq\":" + (good + 1) + ",\"torn", StandardCharsets.UTF_8,
        StandardOpenOption.APPEND);

    AuditLogCorruptedException e = assertThrows(AuditLogCorruptedException.class,
        () -> ControlPlaneServer.start(config(), Clock.systemUTC()));
    assertEquals(good + 1, e.firstBadSeq());
    assertEquals("truncated record", e.reason());

    ControlPlaneServer quarantined = ControlPlaneServer.start(config().withAudit(
        config().audit().withQuarantineDamagedTail(true)), Clock.systemUTC());
    open.add(quarantined);
    assertEquals(1, quarantined.indexedTokens());
  }

  private String allLines() throws Exception {
    try (Stream<Path> files = Files.list(dataDir.resolve("audit"))) {
      List<Path> segments = files.filter(p -> p.getFileName().toString().endsWith(".jsonl"))
          .sorted().toList();
      StringBuilder all = new StringBuilder();
      for (Path p : segments) {
        all.append(Files.readString(p));
      }
      return all.toString();
    }
  }

  private static long count(String text, String needle) {
    return Stream.of(text.split("\n")).filter(l -> l.contains(needle))
        .collect(Collectors.counting());
  }
}
