package io.perishable.controlplane.journal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.perishable.controlplane.MutableClock;
import io.perishable.controlplane.audit.AuditEventType;
import io.perishable.controlplane.audit.AuditLog;
import io.perishable.controlplane.audit.AuditRecord;
import io.perishable.controlplane.audit.CheckpointKeys;
import io.perishable.controlplane.audit.FileAuditLog;
import io.perishable.controlplane.audit.FileAuditLogConfig;
import io.perishable.controlplane.budget.BudgetLedger;
import io.perishable.controlplane.budget.BudgetUsage;
import io.perishable.controlplane.budget.Lease;
import io.perishable.controlplane.report.InMemoryReportLedger;
import io.perishable.controlplane.revocation.RevocationRules;
import io.perishable.controlplane.tokens.InMemoryTokenIndex;
import io.perishable.controlplane.tokens.IndexedToken;
import io.perishable.proto.v1.TokenClaims;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The state a snapshot holds: format 2 carries the budget ledger; a format 1 state (written
 * before budget records existed) still loads, with no budgets; any other format is refused.
 */
class StateFormatTest {
  @TempDir
  Path dataDir;

  private final MutableClock clock = new MutableClock(Instant.parse("2026-11-25T00:00:00Z"));

  /** The state after {@code records}, appended to a fresh log and folded back. */
  private RebuiltState fold(AuditRecord.Builder... records) {
    try (FileAuditLog log = FileAuditLog.open(FileAuditLogConfig.defaults(
        dataDir.resolve("audit-" + System.nanoTime())), CheckpointKeys.open(dataDir, clock),
        clock)) {
      for (AuditRecord.Builder r : records) {
        log.append(r).join();
      }
      RebuiltState s = new RebuiltState();
      try (AuditLog.Reader reader = log.readFrom(1)) {
        while (reader.hasNext()) {
          s.apply(reader.next());
        }
      }
      return s;
    }
  }

  private RebuiltState stateWithABudget() {
    TokenClaims claims = TokenClaims.newBuilder().setTokenId("tok-1").setKeyId("0011223344556677")
        .setAgentId("a").setIssuedAtMs(1).setExpiresAtMs(Long.MAX_VALUE / 2)
        .setBudgetTokens(5_000).build();
    Lease lease = new Lease("l1", "tok-1", "authz-1", 1_000, 0);
    return fold(AuditTrail.issuedRecord(new IndexedToken(claims, "issuer-a")),
        AuditTrail.leasedRecord(lease, null));
  }

  private static byte[] bytes(RebuiltState s) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    s.writeTo(new DataOutputStream(out));
    return out.toByteArray();
  }

  private static RebuiltState read(byte[] b) throws IOException {
    return RebuiltState.readFrom(new DataInputStream(new ByteArrayInputStream(b)));
  }

  private static BudgetLedger installed(RebuiltState s) {
    BudgetLedger ledger = new BudgetLedger(Clock.systemUTC(), Duration.ofSeconds(30));
    InMemoryTokenIndex index = new InMemoryTokenIndex();
    s.installInto(index, new RevocationRules(), new ExpiryWatcher(index, null, Clock.systemUTC()),
        new InMemoryReportLedger(), ledger);
    return ledger;
  }

  @Test
  void format2_roundTripsTheBudgetLedger() throws IOException {
    RebuiltState back = read(bytes(stateWithABudget()));

    assertEquals(1, back.budgetAccountCount());
    assertEquals(1, back.outstandingLeaseCount());
    assertEquals(new BudgetUsage("tok-1", 5_000, 0, 1_000, 4_000),
        installed(back).usage("tok-1"));
  }

  @Test
  void format1_loadsWithoutBudgets() throws IOException {
    RebuiltState empty = fold(AuditRecord.builder(AuditEventType.KEY_ROTATED)
        .keyId("0011223344556677").attribute("event", "created"));
    byte[] v2 = bytes(empty);
    // Format 1 is format 2 without the trailing budget section (three empty counts).
    byte[] v1 = Arrays.copyOf(v2, v2.length - 12);
    ByteBuffer.wrap(v1).putInt(0, 1);

    RebuiltState back = read(v1);

    assertEquals(empty.seq(), back.seq());
    assertEquals(java.util.Set.of("0011223344556677"), back.keyIds());
    assertEquals(0, back.budgetAccountCount());
  }

  @Test
  void unknownFormat_refused() throws IOException {
    byte[] b = bytes(stateWithABudget());
    ByteBuffer.wrap(b).putInt(0, 3);

    IOException e = assertThrows(IOException.class, () -> read(b));
    assertEquals("unknown state format 3", e.getMessage());
  }
}
