package io.perishable.controlplane;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Duration;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import io.perishable.controlplane.audit.AuditEventType;
import io.perishable.controlplane.audit.AuditLog;
import io.perishable.controlplane.audit.AuditRecord;
import io.perishable.controlplane.audit.CheckpointKeys;
import io.perishable.controlplane.audit.FileAuditLog;
import io.perishable.controlplane.audit.FileAuditLogConfig;
import io.perishable.controlplane.issue.IssuancePolicy;
import io.perishable.controlplane.issue.TokenIssuer;
import io.perishable.controlplane.issue.TokenServiceEndpoint;
import io.perishable.controlplane.issuer.IssuerAuthenticator;
import io.perishable.controlplane.journal.AuditTrail;
import io.perishable.controlplane.journal.ExpiryWatcher;
import io.perishable.controlplane.journal.StateReplay;
import io.perishable.controlplane.keys.SigningKeyStore;
import io.perishable.controlplane.lookup.TokenLookup;
import io.perishable.controlplane.metrics.ControlPlaneMetrics;
import io.perishable.controlplane.revocation.RevocationRules;
import io.perishable.controlplane.revocation.Revoker;
import io.perishable.controlplane.sync.SyncHub;
import io.perishable.controlplane.tokens.InMemoryTokenIndex;
import io.perishable.controlplane.tokens.TokenIndex;
import io.perishable.proto.v1.Delta;
import io.perishable.proto.v1.GetTokenRequest;
import io.perishable.proto.v1.IssueRequest;
import io.perishable.proto.v1.IssueResponse;
import io.perishable.proto.v1.ListTokensRequest;
import io.perishable.proto.v1.RevokeRequest;
import io.perishable.proto.v1.TokenServiceGrpc;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The audit log as the token API's source of truth, over in-process gRPC: Issue and Revoke
 * answer only once their record is durable, a record that cannot be written means no token and
 * no rule, and expiries are recorded once per token.
 */
class AuditWiringTest {
  @RegisterExtension
  final InProcessGrpc grpc = new InProcessGrpc();

  @TempDir
  Path dataDir;

  private final MutableClock clock = new MutableClock(Instant.parse("2026-11-24T12:00:00Z"));
  private final List<Delta> published = new ArrayList<>();
  private final List<AutoCloseable> closeAfter = new ArrayList<>();
  private TokenIndex index;
  private TokenIssuer issuer;

  @AfterEach
  void close() throws Exception {
    for (AutoCloseable c : closeAfter) {
      c.close();
    }
  }

  private FileAuditLog openLog() {
    FileAuditLog log = FileAuditLog.open(FileAuditLogConfig.defaults(dataDir.resolve("audit")),
        CheckpointKeys.open(dataDir, clock), clock);
    closeAfter.add(log);
    return log;
  }

  /** TokenService over {@code log}, answering from the thread that completes the record. */
  private TokenServiceGrpc.TokenServiceStub serve(AuditLog log) {
    var config = TestConfigs.controlPlane(dataDir);
    SigningKeyStore keys = SigningKeyStore.open(dataDir, clock);
    index = new InMemoryTokenIndex();
    RevocationRules rules = new RevocationRules();
    issuer = new TokenIssuer(new IssuancePolicy(config), keys, clock, index, rules);
    Revoker revoker = new Revoker(index, rules, (delta, timeout) -> {
      published.add(delta);
      return new SyncHub.Propagation(List.of("replica-a"), List.of());
    }, clock, config.maxTtl(), config.scopes().keySet());
    ManagedChannel channel = grpc.serve(ServerInterceptors.intercept(
        new TokenServiceEndpoint(issuer, revoker, new TokenLookup(index, rules, clock),
            new AuditTrail(log, nanos -> { }), Runnable::run, new ControlPlaneMetrics()),
        new IssuerAuthenticator(config.issuers())));
    Metadata headers = new Metadata();
    headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER),
        "Bearer " + TestConfigs.ISSUER_SECRET);
    return TokenServiceGrpc.newStub(channel)
        .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));
  }

  private static IssueRequest request(long ttlSeconds) {
    return IssueRequest.newBuilder().setAgentId("agent-1").addScopes("llm:complete")
        .addModels("gpt-4o-mini").setTtl(Duration.newBuilder().setSeconds(ttlSeconds)).build();
  }

  /** The answer of one unary call, as a future. */
  private static <T> CompletableFuture<T> call(
      java.util.function.Consumer<StreamObserver<T>> rpc) {
    CompletableFuture<T> answer = new CompletableFuture<>();
    rpc.accept(new StreamObserver<>() {
      @Override
      public void onNext(T value) {
        answer.complete(value);
      }

      @Override
      public void onError(Throwable t) {
        answer.completeExceptionally(t);
      }

      @Override
      public void onCompleted() {}
    });
    return answer;
  }

  private static Status.Code code(CompletableFuture<?> answer) {
    Throwable t = assertThrows(Exception.class, () -> answer.get(10, TimeUnit.SECONDS));
    return Status.fromThrowable(t.getCause()).getCode();
  }

  /** Every record of the log, through its head. */
  private static List<AuditRecord> records(AuditLog log) {
    List<AuditRecord> out = new ArrayList<>();
    if (log.head().seq() == 0) {
      return out;
    }
    try (AuditLog.Reader reader = log.readFrom(1)) {
      reader.forEachRemaining(out::add);
    }
    return out;
  }

  private static long count(List<AuditRecord> records, AuditEventType type) {
    return records.stream().filter(r -> r.type() == type).count();
  }

  @Test
  void issue_answersOnlyOnceItsRecordIsDurable() throws Exception {
    HeldAuditLog log = new HeldAuditLog(openLog());
    TokenServiceGrpc.TokenServiceStub stub = serve(log);

    CompletableFuture<IssueResponse> answer = call(o -> stub.issue(request(600), o));

    assertTrue(log.awaitAppends(1), "the issued record was appended");
    assertFalse(answer.isDone(), "Issue answered before its record was durable");
    assertEquals(0, index.size(), "the token was indexed before its record was durable");
    log.release();
    IssueResponse response = answer.get(10, TimeUnit.SECONDS);
    List<AuditRecord> records = records(log.delegate);
    AuditRecord issued = records.get(records.size() - 1);
    assertEquals(AuditEventType.ISSUED, issued.type());
    assertEquals(response.getTokenId(), issued.tokenId());
    assertEquals("agent-1", issued.agentId());
    assertEquals("llm:complete", issued.attributes().get("scopes"));
    assertFalse(new String(issued.canonicalBytes()).contains(response.getToken()),
        "the record holds the token");
    assertTrue(index.get(response.getTokenId()).isPresent());
  }

  @Test
  void revoke_putsItsRuleInForceOnlyOnceItsRecordIsDurable() throws Exception {
    HeldAuditLog log = new HeldAuditLog(openLog());
    TokenServiceGrpc.TokenServiceStub stub = serve(log);
    log.release();
    IssueResponse token = call((StreamObserver<IssueResponse> o) -> stub.issue(request(600), o))
        .get(10, TimeUnit.SECONDS);
    log.hold();

    var answer = call((StreamObserver<io.perishable.proto.v1.RevokeResponse> o) -> stub.revoke(
        RevokeRequest.newBuilder().setTokenId(token.getTokenId()).setReason("leaked").build(),
        o));

    assertTrue(log.awaitAppends(2));
    assertFalse(answer.isDone(), "Revoke answered before its record was durable");
    assertTrue(published.isEmpty(), "the rule was published before its record was durable");
    log.release();
    assertEquals(1, answer.get(10, TimeUnit.SECONDS).getTokensCovered());
    assertEquals(1, published.size());
    AuditRecord revoked = records(log.delegate).stream()
        .filter(r -> r.type() == AuditEventType.REVOKED).findFirst().orElseThrow();
    assertEquals("token_id=" + token.getTokenId(), revoked.selector());
    assertEquals("leaked", revoked.reason());
    assertEquals("1", revoked.attributes().get("tokens_covered"));
    assertEquals(answer.get().getRuleId(), revoked.attributes().get("rule_id"));
  }

  @Test
  void issue_recordCannotBeWritten_unavailableAndNoToken() throws Exception {
    FileAuditLog log = openLog();
    TokenServiceGrpc.TokenServiceStub stub = serve(log);
    log.close();

    CompletableFuture<IssueResponse> answer = call(o -> stub.issue(request(600), o));

    assertEquals(Status.Code.UNAVAILABLE, code(answer));
    assertEquals(0, index.size());
    var list = call((StreamObserver<io.perishable.proto.v1.ListTokensResponse> o) ->
        stub.listTokens(ListTokensRequest.getDefaultInstance(), o)).get(10, TimeUnit.SECONDS);
    assertEquals(0, list.getTokensCount(), "a token whose record was lost is known");
  }

  @Test
  void revoke_recordCannotBeWritten_unavailableAndRuleNotInForce() throws Exception {
    FileAuditLog log = openLog();
    TokenServiceGrpc.TokenServiceStub stub = serve(log);
    IssueResponse token = call((StreamObserver<IssueResponse> o) -> stub.issue(request(600), o))
        .get(10, TimeUnit.SECONDS);
    log.close();

    var answer = call((StreamObserver<io.perishable.proto.v1.RevokeResponse> o) -> stub.revoke(
        RevokeRequest.newBuilder().setTokenId(token.getTokenId()).build(), o));

    assertEquals(Status.Code.UNAVAILABLE, code(answer));
    assertTrue(published.isEmpty());
    var info = call((StreamObserver<io.perishable.proto.v1.TokenInfo> o) -> stub.getToken(
        GetTokenRequest.newBuilder().setTokenId(token.getTokenId()).build(), o))
        .get(10, TimeUnit.SECONDS);
    assertEquals(io.perishable.proto.v1.TokenState.TOKEN_STATE_LIVE, info.getState());
  }

  @Test
  void expiry_recordedOncePerToken_alsoAcrossARestart() throws Exception {
    FileAuditLog log = openLog();
    TokenServiceGrpc.TokenServiceStub stub = serve(log);
    String tokenId = call((StreamObserver<IssueResponse> o) -> stub.issue(request(60), o))
        .get(10, TimeUnit.SECONDS).getTokenId();
    call((StreamObserver<IssueResponse> o) -> stub.issue(request(3600), o))
        .get(10, TimeUnit.SECONDS);
    AuditTrail trail = new AuditTrail(log, nanos -> { });
    ExpiryWatcher watcher = new ExpiryWatcher(index, trail, clock);

    assertEquals(0, watcher.scan(), "nothing has expired yet");
    clock.advance(java.time.Duration.ofSeconds(60));
    assertEquals(1, watcher.scan());
    assertEquals(0, watcher.scan(), "an expiry is recorded once");
    log.checkpoint().get(10, TimeUnit.SECONDS); // every earlier append is durable

    List<AuditRecord> records = records(log);
    assertEquals(1, count(records, AuditEventType.EXPIRED));
    AuditRecord expired = records.stream()
        .filter(r -> r.type() == AuditEventType.EXPIRED).findFirst().orElseThrow();
    assertEquals(tokenId, expired.tokenId());
    assertEquals("agent-1", expired.agentId());

    // A restarted control plane learns from the log which expiries are already recorded.
    TokenIndex rebuilt = new InMemoryTokenIndex();
    ExpiryWatcher after = new ExpiryWatcher(rebuilt, trail, clock);
    StateReplay.replay(log, rebuilt, new RevocationRules(), after);
    assertEquals(0, after.scan());
    clock.advance(java.time.Duration.ofHours(1));
    assertEquals(1, after.scan(), "the other token expires in its turn");
  }

  /** An audit log whose appends become visible as durable only when the test says so. */
  static final class HeldAuditLog implements AuditLog {
    final FileAuditLog delegate;
    private volatile CompletableFuture<Void> gate = new CompletableFuture<>();
    private final java.util.concurrent.atomic.AtomicInteger appends =
        new java.util.concurrent.atomic.AtomicInteger();

    HeldAuditLog(FileAuditLog delegate) {
      this.delegate = delegate;
    }

    void release() {
      gate.complete(null);
    }

    void hold() {
      gate = new CompletableFuture<>();
    }

    boolean awaitAppends(int n) throws InterruptedException {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (appends.get() < n) {
        if (System.nanoTime() > deadline) {
          return false;
        }
        Thread.sleep(1);
      }
      return true;
    }

    @Override
    public CompletableFuture<AuditRecord> append(AuditRecord.Builder draft) {
      CompletableFuture<AuditRecord> durable = delegate.append(draft);
      appends.incrementAndGet();
      CompletableFuture<Void> g = gate;
      // Completed on whichever completes last: the test's release, or the real fsync.
      return durable.thenCombine(g, (r, ignored) -> r);
    }

    @Override
    public CompletableFuture<AuditRecord> checkpoint() {
      return delegate.checkpoint();
    }

    @Override
    public Head head() {
      return delegate.head();
    }

    @Override
    public Reader readFrom(long seq) {
      return delegate.readFrom(seq);
    }

    @Override
    public void close() {
      delegate.close();
    }
  }
}
