package io.perishable.controlplane.journal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.perishable.controlplane.MutableClock;
import io.perishable.controlplane.audit.AuditEventType;
import io.perishable.controlplane.audit.AuditLog;
import io.perishable.controlplane.audit.AuditRecord;
import io.perishable.controlplane.audit.CheckpointKeys;
import io.perishable.controlplane.audit.FileAuditLog;
import io.perishable.controlplane.audit.FileAuditLogConfig;
import io.perishable.controlplane.tokens.InMemoryTokenIndex;
import io.perishable.controlplane.tokens.IndexedToken;
import io.perishable.controlplane.tokens.TokenIndex;
import io.perishable.proto.v1.TokenClaims;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ExpiryWatcherTest {
  @TempDir
  Path dataDir;

  private final MutableClock clock = new MutableClock(Instant.ofEpochMilli(1_764_028_800_000L));
  private FileAuditLog log;
  private FailingLog failing;
  private WalkRefusingIndex index;
  private ExpiryWatcher watcher;

  @BeforeEach
  void setUp() {
    log = FileAuditLog.open(FileAuditLogConfig.defaults(dataDir.resolve("audit")),
        CheckpointKeys.open(dataDir, clock), clock);
    failing = new FailingLog(log);
    index = new WalkRefusingIndex();
    watcher = new ExpiryWatcher(index, new AuditTrail(failing, nanos -> { }), clock);
  }

  @AfterEach
  void tearDown() {
    log.close();
  }

  private IndexedToken token(String id, long expiresInMs) {
    return new IndexedToken(TokenClaims.newBuilder().setTokenId(id).setAgentId("agent-1")
        .setIssuedAtMs(clock.millis()).setExpiresAtMs(clock.millis() + expiresInMs).build(),
        "issuer-1");
  }

  /** The token ids of the durable {@code expired} records, in log order. */
  private List<String> expiredRecords() {
    List<String> ids = new ArrayList<>();
    try (AuditLog.Reader r = log.readFrom(1)) {
      r.forEachRemaining(rec -> {
        if (rec.type() == AuditEventType.EXPIRED) {
          ids.add(rec.tokenId());
        }
      });
    }
    return ids;
  }

  /** Waits for the appends a scan started (they complete once durable). */
  private void settle() {
    log.checkpoint().join(); // ordered after every earlier append
  }

  @Test
  void scan_recordsEachExpiryOnce_inExpiryOrder_withoutWalkingTheIndex() {
    index.add(token("token-c", 3_000));
    index.add(token("token-a", 1_000));
    index.add(token("token-b", 2_000));
    index.add(token("token-late", 60_000));

    assertEquals(0, watcher.scan(), "nothing expired yet");
    clock.advance(Duration.ofMillis(1_000));
    assertEquals(1, watcher.scan(), "expiry at exactly now counts");
    assertEquals(0, watcher.scan(), "an expiry is recorded once");
    clock.advance(Duration.ofMillis(5_000));
    assertEquals(2, watcher.scan());
    settle();
    assertEquals(List.of("token-a", "token-b", "token-c"), expiredRecords());
    assertEquals(4, index.size(), "expired tokens stay indexed until the index forgets them");
  }

  @Test
  void scan_aTokenIndexedAfterItExpired_recordedOnTheNextScan() {
    clock.advance(Duration.ofMillis(10_000));
    assertEquals(0, watcher.scan());
    index.add(token("token-old", -5_000)); // e.g. indexed late, or a clock that stepped back
    assertEquals(1, watcher.scan());
    settle();
    assertEquals(List.of("token-old"), expiredRecords());
  }

  @Test
  void scan_afterARestart_skipsExpiriesTheLogHolds_andForgetsThoseIds() {
    index.add(token("token-recorded", 1_000));
    index.add(token("token-missed", 1_000));
    index.add(token("token-forgotten", 500));
    watcher.alreadyRecorded("token-recorded");
    watcher.alreadyRecorded("token-forgotten");
    index.forgetExpiredBefore(clock.millis() + 600); // forgotten before any scan took it

    clock.advance(Duration.ofMillis(2_000));
    assertEquals(1, watcher.scan());
    settle();
    assertEquals(List.of("token-missed"), expiredRecords());
    assertEquals(0, watcher.recordedBeforeCount(), "taken or forgotten: nothing left to skip");
  }

  @Test
  void scan_aFailedAppend_isRetriedOnTheNextScan() {
    index.add(token("token-a", 1_000));
    clock.advance(Duration.ofMillis(1_000));
    failing.fail = true;
    assertEquals(1, watcher.scan());
    failing.fail = false;
    assertEquals(List.of(), expiredRecords());
    assertEquals(1, watcher.scan(), "retried");
    assertEquals(0, watcher.scan());
    settle();
    assertEquals(List.of("token-a"), expiredRecords());
  }

  /** A token index whose full walk fails the test: a scan must not need it. */
  private static final class WalkRefusingIndex implements TokenIndex {
    private final InMemoryTokenIndex delegate = new InMemoryTokenIndex();

    @Override
    public void add(IndexedToken token) {
      delegate.add(token);
    }

    @Override
    public Optional<IndexedToken> get(String tokenId) {
      return delegate.get(tokenId);
    }

    @Override
    public List<IndexedToken> descendants(String tokenId) {
      return delegate.descendants(tokenId);
    }

    @Override
    public void forEach(Consumer<IndexedToken> action) {
      throw new AssertionError("a scan walked the whole index");
    }

    @Override
    public Page page(Optional<String> agentId, Optional<Cursor> cursor, int limit,
        Predicate<IndexedToken> filter) {
      throw new AssertionError("a scan paged through the index");
    }

    @Override
    public List<IndexedToken> takeExpired(long nowMs) {
      return delegate.takeExpired(nowMs);
    }

    @Override
    public int forgetExpiredBefore(long expiredBeforeMs) {
      return delegate.forgetExpiredBefore(expiredBeforeMs);
    }

    @Override
    public int size() {
      return delegate.size();
    }
  }

  /** A log whose appends fail while {@link #fail} is set, as a full or stopped log's do. */
  private static final class FailingLog implements AuditLog {
    private final AuditLog delegate;
    volatile boolean fail;

    FailingLog(AuditLog delegate) {
      this.delegate = delegate;
    }

    @Override
    public CompletableFuture<AuditRecord> append(AuditRecord.Builder draft) {
      return fail ? CompletableFuture.failedFuture(new IllegalStateException("the log is stopped"))
          : delegate.append(draft);
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
