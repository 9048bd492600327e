package io.perishable.controlplane.journal;

import io.perishable.controlplane.audit.AuditRecord;
import io.perishable.controlplane.budget.BudgetLedger;
import io.perishable.controlplane.report.InMemoryReportLedger;
import io.perishable.controlplane.report.ReportSource;
import io.perishable.controlplane.revocation.RevocationRules;
import io.perishable.controlplane.tokens.IndexedToken;
import io.perishable.controlplane.tokens.TokenIndex;
import io.perishable.proto.v1.RevocationRule;
import io.perishable.proto.v1.TokenClaims;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.annotation.Nullable;

/**
 * The control plane's state as the audit log defines it, folded record by record in seq order:
 * every {@code issued} token (in log order), every {@code revoked} rule, the token ids whose
 * {@code expired} record exists, the signing-key ids a {@code key_rotated} record announced, and
 * the report ledger's progress per authz replica, and the budget ledger ({@link BudgetState}:
 * accounts, charges, outstanding leases, agent windows). {@link #seq()} is the last record
 * folded.
 *
 * <p>A state snapshot ({@link StateSnapshots}) is this object written at a checkpoint record;
 * restart loads it and folds only the records after it. {@link #installInto} then fills the
 * serving structures. Not thread-safe: one thread folds it.
 */
public final class RebuiltState {
  /** 2 added the budget ledger; a format 1 snapshot (written before budget records) has none. */
  private static final int FORMAT = 2;
  private static final int FORMAT_WITHOUT_BUDGETS = 1;

  private long seq;
  private final Map<String, IndexedToken> tokens = new LinkedHashMap<>();
  private final Map<String, RevocationRule> rules = new LinkedHashMap<>();
  private final Set<String> expired = new LinkedHashSet<>();
  private final Set<String> keyIds = new LinkedHashSet<>();
  private final InMemoryReportLedger ledger = new InMemoryReportLedger();
  private BudgetState budgets = new BudgetState();

  /** The state of an empty log. */
  RebuiltState() {}

  /** The seq of the last record folded in (0 for none). */
  public long seq() {
    return seq;
  }

  /** Tokens held (including expired ones not yet pruned). */
  public int tokenCount() {
    return tokens.size();
  }

  /** Revocation rules held (live or not). */
  public int ruleCount() {
    return rules.size();
  }

  /** Token ids whose expiry is recorded. */
  public int expiredCount() {
    return expired.size();
  }

  /** Budget accounts held. */
  public int budgetAccountCount() {
    return budgets.accountCount();
  }

  /** Budget leases granted and not returned. */
  public int outstandingLeaseCount() {
    return budgets.leaseCount();
  }

  /** Signing-key ids a {@code key_rotated} record announced. */
  public Set<String> keyIds() {
    return Set.copyOf(keyIds);
  }

  /** Folds in the next record; {@code r.seq()} must be {@link #seq()} + 1. */
  void apply(AuditRecord r) {
    if (r.seq() != seq + 1) {
      throw new IllegalStateException("state is at seq " + seq + ", cannot apply " + r.seq());
    }
    seq = r.seq();
    switch (r.type()) {
      case ISSUED -> {
        tokens.putIfAbsent(r.tokenId(),
            new IndexedToken(AuditTrail.claimsOf(r), AuditTrail.mintedByOf(r)));
        budgets.issued(r);
      }
      case BUDGET_LEASED -> budgets.leased(r);
      case BUDGET_RETURNED -> budgets.returned(r);
      case REVOKED -> {
        RevocationRule rule = AuditTrail.ruleOf(r);
        rules.put(rule.getRuleId(), rule);
      }
      case EXPIRED -> expired.add(r.tokenId());
      case KEY_ROTATED -> {
        if (r.keyId() != null) {
          keyIds.add(r.keyId());
        }
      }
      case USED, DENIED, COMPLETION -> ledger.recordedBy(r);
      default -> { }
    }
  }

  /**
   * Drops what the serving state would drop anyway: tokens that expired before {@code
   * tokensExpiredBeforeMs} (the token index forgets them too), their expiry marks, and rules
   * past their expiry at {@code nowMs}. Keeps snapshots, and this object, from growing with
   * every token ever issued.
   */
  void prune(long tokensExpiredBeforeMs, long nowMs) {
    tokens.values().removeIf(t -> t.claims().getExpiresAtMs() < tokensExpiredBeforeMs);
    expired.retainAll(tokens.keySet());
    rules.values().removeIf(rule -> rule.getExpiresAtMs() <= nowMs);
    budgets.prune(tokens.keySet(), nowMs);
  }

  /**
   * Fills empty serving structures with this state: the index in log order, every rule (those
   * past their expiry drop out on the first read), the expiry marks, the ledger's progress.
   */
  public void installInto(TokenIndex index, RevocationRules into, ExpiryWatcher expiries,
      InMemoryReportLedger reports) {
    installInto(index, into, expiries, reports, null);
  }

  /**
   * As {@link #installInto(TokenIndex, RevocationRules, ExpiryWatcher, InMemoryReportLedger)},
   * and fills the empty {@code budgetLedger} (null: budgets are not restored): accounts with
   * what they were charged, agent windows, and the outstanding leases, each with a fresh lease
   * ttl (see {@link BudgetLedger#restoreLease}).
   */
  public void installInto(TokenIndex index, RevocationRules into, ExpiryWatcher expiries,
      InMemoryReportLedger reports, @Nullable BudgetLedger budgetLedger) {
    if (budgetLedger != null) {
      budgets.installInto(budgetLedger);
    }
    for (IndexedToken t : tokens.values()) {
      if (index.get(t.tokenId()).isEmpty()) {
        index.add(t);
      }
    }
    rules.values().forEach(into::add);
    expired.forEach(expiries::alreadyRecorded);
    ledger.progress().forEach(reports::restore);
  }

  // ---------------------------------------------------------------- snapshot encoding

  /** Writes this state (the payload of a snapshot file). */
  void writeTo(DataOutputStream out) throws IOException {
    out.writeInt(FORMAT);
    out.writeLong(seq);
    out.writeInt(tokens.size());
    for (IndexedToken t : tokens.values()) {
      writeBytes(out, t.claims().toByteArray());
      writeString(out, t.mintedBy());
    }
    out.writeInt(rules.size());
    for (RevocationRule rule : rules.values()) {
      writeBytes(out, rule.toByteArray());
    }
    writeStrings(out, expired);
    writeStrings(out, keyIds);
    List<InMemoryReportLedger.SourceProgress> progress = ledger.progress();
    out.writeInt(progress.size());
    for (InMemoryReportLedger.SourceProgress p : progress) {
      writeString(out, p.source().replicaId());
      writeString(out, p.source().spoolId());
      out.writeLong(p.through());
      out.writeInt(p.above().size());
      for (long s : p.above()) {
        out.writeLong(s);
      }
    }
    budgets.writeTo(out);
  }

  /**
   * Reads what {@link #writeTo} wrote.
   *
   * @throws IOException if the bytes are not such a state (a damaged or foreign file)
   */
  static RebuiltState readFrom(DataInputStream in) throws IOException {
    int format = in.readInt();
    if (format != FORMAT && format != FORMAT_WITHOUT_BUDGETS) {
      throw new IOException("unknown state format " + format);
    }
    RebuiltState s = new RebuiltState();
    s.seq = in.readLong();
    int n = count(in);
    for (int i = 0; i < n; i++) {
      TokenClaims claims = TokenClaims.parseFrom(readBytes(in));
      s.tokens.put(claims.getTokenId(), new IndexedToken(claims, readString(in)));
    }
    n = count(in);
    for (int i = 0; i < n; i++) {
      RevocationRule rule = RevocationRule.parseFrom(readBytes(in));
      s.rules.put(rule.getRuleId(), rule);
    }
    s.expired.addAll(readStrings(in));
    s.keyIds.addAll(readStrings(in));
    n = count(in);
    for (int i = 0; i < n; i++) {
      ReportSource source = new ReportSource(readString(in), readString(in));
      long through = in.readLong();
      int m = count(in);
      List<Long> above = new ArrayList<>(m);
      for (int j = 0; j < m; j++) {
        above.add(in.readLong());
      }
      s.ledger.restore(new InMemoryReportLedger.SourceProgress(source, through, above));
    }
    if (format != FORMAT_WITHOUT_BUDGETS) {
      s.budgets = BudgetState.readFrom(in);
    }
    if (in.read() != -1) {
      throw new IOException("trailing bytes after the state");
    }
    return s;
  }

  private static int count(DataInputStream in) throws IOException {
    int n = in.readInt();
    if (n < 0) {
      throw new IOException("negative count " + n);
    }
    return n;
  }

  private static void writeBytes(DataOutputStream out, byte[] b) throws IOException {
    out.writeInt(b.length);
    out.write(b);
  }

  private static byte[] readBytes(DataInputStream in) throws IOException {
    int n = count(in);
    byte[] b = in.readNBytes(n);
    if (b.length != n) {
      throw new IOException("field of " + n + " bytes runs past the end");
    }
    return b;
  }

  private static void writeString(DataOutputStream out, String s) throws IOException {
    writeBytes(out, s.getBytes(StandardCharsets.UTF_8));
  }

  private static String readString(DataInputStream in) throws IOException {
    return new String(readBytes(in), StandardCharsets.UTF_8);
  }

  private static void writeStrings(DataOutputStream out, Set<String> strings)
      throws IOException {
    out.writeInt(strings.size());
    for (String s : strings) {
      writeString(out, s);
    }
  }

  private static Set<String> readStrings(DataInputStream in) throws IOException {
    int n = count(in);
    Set<String> out = new HashSet<>();
    for (int i = 0; i < n; i++) {
      out.add(readString(in));
    }
    return out;
  }
}
