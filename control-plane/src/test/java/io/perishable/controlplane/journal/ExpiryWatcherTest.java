package io.perishable.controlplane.journal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.perishable.controlplane.MutableClock;
import io.perishable.controlplane.audit.CheckpointKeys;
import io.perishable.controlplane.audit.FileAuditLog;
import io.perishable.controlplane.audit.FileAuditLogConfig;
import io.perishable.controlplane.tokens.InMemoryTokenIndex;
import io.perishable.controlplane.tokens.IndexedToken;
import io.perishable.proto.v1.TokenClaims;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ExpiryWatcherTest {
  @TempDir
  Path dataDir;

  private final MutableClock clock = new MutableClock(Instant.ofEpochMilli(1_764_028_800_000L));

  private IndexedToken token(String id, long expiresAtMs) {
    return new IndexedToken(TokenClaims.newBuilder().setTokenId(id).setAgentId("agent-1")
        .setIssuedAtMs(clock.millis()).setExpiresAtMs(expiresAtMs).build(), "issuer-1");
  }

  @Test
  void scan_recordsAnExpiryOnce_thenForgetsTheTokenOnceTheIndexHas() {
    CheckpointKeys keys = CheckpointKeys.open(dataDir, clock);
    try (FileAuditLog log = FileAuditLog.open(
        FileAuditLogConfig.defaults(dataDir.resolve("audit")), keys, clock)) {
      InMemoryTokenIndex index = new InMemoryTokenIndex();
      index.add(token("token-a", clock.millis() + 1_000));
      ExpiryWatcher watcher = new ExpiryWatcher(index, new AuditTrail(log, nanos -> { }), clock);

      clock.advance(Duration.ofSeconds(2));
      assertEquals(1, watcher.scan());
      assertEquals(0, watcher.scan(), "an expiry is recorded once");
      assertEquals(1, watcher.recordedCount());

      index.forgetExpiredBefore(clock.millis());
      clock.advance(Duration.ofSeconds(1));
      assertEquals(0, watcher.scan());
      assertEquals(1, watcher.recordedCount(), "forgotten ids are dropped once a minute");

      clock.advance(Duration.ofMillis(ExpiryWatcher.PRUNE_EVERY_MS));
      assertEquals(0, watcher.scan());
      assertEquals(0, watcher.recordedCount(), "the index forgot it, so does the watcher");
    }
  }
}
