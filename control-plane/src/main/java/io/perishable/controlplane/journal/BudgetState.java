package io.perishable.controlplane.journal;

import io.perishable.controlplane.audit.AuditRecord;
import io.perishable.controlplane.budget.AgentWindow;
import io.perishable.controlplane.budget.BudgetLedger;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import javax.annotation.Nullable;

/**
 * The budget ledger as the audit log defines it: an account per {@code issued} record with a
 * {@code budget_tokens} attribute (a delegated token's under its parent's, when the parent has
 * one), what each token's leases were charged ({@code budget_returned}), the leases granted and
 * not returned ({@code budget_leased} without a {@code budget_returned}), and what each agent
 * window was charged. Part of {@link RebuiltState}; not thread-safe.
 */
final class BudgetState {
  /** A token's account: the claims' agent and budget, and the charges of its own leases. */
  private static final class Account {
    final String agentId;
    @Nullable final String parentTokenId;
    final long limit;
    long charged;

    Account(String agentId, @Nullable String parentTokenId, long limit) {
      this.agentId = agentId;
      this.parentTokenId = parentTokenId;
      this.limit = limit;
    }
  }

  /** A lease granted and not yet returned. */
  private record Outstanding(String leaseId, String tokenId, String replicaId, long amount,
      @Nullable AgentWindow window) {}

  private final Map<String, Account> accounts = new LinkedHashMap<>();
  private final Map<String, Outstanding> leases = new LinkedHashMap<>();
  private final Map<AgentWindow, Long> windows = new LinkedHashMap<>();

  int accountCount() {
    return accounts.size();
  }

  int leaseCount() {
    return leases.size();
  }

  void issued(AuditRecord r) {
    String budget = r.attributes().get(AuditTrail.BUDGET_TOKENS);
    if (budget == null || accounts.containsKey(r.tokenId())) {
      return;
    }
    String parent = r.parentTokenId();
    accounts.put(r.tokenId(), new Account(r.agentId() == null ? "" : r.agentId(),
        parent != null && accounts.containsKey(parent) ? parent : null,
        Long.parseUnsignedLong(budget)));
  }

  void leased(AuditRecord r) {
    Map<String, String> a = r.attributes();
    String start = a.get(AuditTrail.AGENT_WINDOW_START_MS);
    AgentWindow window = start == null || r.agentId() == null ? null : new AgentWindow(
        r.agentId(), Long.parseLong(start), Long.parseLong(a.get(AuditTrail.AGENT_WINDOW_MS)));
    String leaseId = a.get(AuditTrail.LEASE_ID);
    leases.put(leaseId, new Outstanding(leaseId, r.tokenId(),
        r.replicaId() == null ? "" : r.replicaId(), Long.parseLong(a.get(AuditTrail.AMOUNT)),
        window));
  }

  void returned(AuditRecord r) {
    Outstanding lease = leases.remove(r.attributes().get(AuditTrail.LEASE_ID));
    long charged = Long.parseLong(r.attributes().get(AuditTrail.CHARGED));
    Account account = accounts.get(r.tokenId());
    if (account != null) {
      account.charged += charged;
    }
    if (lease != null && lease.window() != null) {
      windows.merge(lease.window(), charged, Long::sum);
    }
  }

  /**
   * Drops the accounts of tokens the index forgot, and agent windows that ended before the
   * previous one began. What a dropped child account was charged stays charged to its nearest
   * kept ancestor (so the ancestors' spend does not change), and so does the whole of a lease
   * still outstanding on a dropped account: its token expired long ago, so the lease is as good
   * as expired unrenewed, which charges it whole.
   */
  void prune(Set<String> tokenIds, long nowMs) {
    Map<String, Long> moved = new LinkedHashMap<>();
    for (Map.Entry<String, Account> e : accounts.entrySet()) {
      if (!tokenIds.contains(e.getKey())) {
        moved.merge(e.getKey(), e.getValue().charged, Long::sum);
      }
    }
    for (Outstanding l : leases.values()) {
      if (!tokenIds.contains(l.tokenId())) {
        moved.merge(l.tokenId(), l.amount(), Long::sum);
        if (l.window() != null) {
          windows.merge(l.window(), l.amount(), Long::sum);
        }
      }
    }
    moved.forEach((tokenId, charged) -> {
      Account a = accounts.get(tokenId);
      String up = a == null ? null : a.parentTokenId;
      while (up != null && !tokenIds.contains(up)) {
        Account ancestor = accounts.get(up);
        up = ancestor == null ? null : ancestor.parentTokenId;
      }
      if (up != null && accounts.containsKey(up)) {
        accounts.get(up).charged += charged;
      }
    });
    accounts.keySet().retainAll(tokenIds);
    leases.values().removeIf(l -> !accounts.containsKey(l.tokenId()));
    windows.keySet().removeIf(w -> w.startMs() + 2 * w.periodMs() <= nowMs
        && leases.values().stream().noneMatch(l -> w.equals(l.window())));
  }

  /** Puts accounts, then agent windows, then outstanding leases into an empty ledger. */
  void installInto(BudgetLedger ledger) {
    accounts.forEach((tokenId, a) -> ledger.restoreAccount(tokenId, a.agentId,
        a.parentTokenId != null && accounts.containsKey(a.parentTokenId) ? a.parentTokenId
            : null, a.limit, a.charged));
    windows.forEach(ledger::restoreWindow);
    for (Outstanding l : leases.values()) {
      ledger.restoreLease(l.leaseId(), l.tokenId(), l.replicaId(), l.amount(), l.window());
    }
  }

  void writeTo(DataOutputStream out) throws IOException {
    out.writeInt(accounts.size());
    for (Map.Entry<String, Account> e : accounts.entrySet()) {
      Account a = e.getValue();
      out.writeUTF(e.getKey());
      out.writeUTF(a.agentId);
      out.writeUTF(a.parentTokenId == null ? "" : a.parentTokenId);
      out.writeLong(a.limit);
      out.writeLong(a.charged);
    }
    out.writeInt(leases.size());
    for (Outstanding l : leases.values()) {
      out.writeUTF(l.leaseId());
      out.writeUTF(l.tokenId());
      out.writeUTF(l.replicaId());
      out.writeLong(l.amount());
      writeWindow(out, l.window());
    }
    out.writeInt(windows.size());
    for (Map.Entry<AgentWindow, Long> e : windows.entrySet()) {
      writeWindow(out, e.getKey());
      out.writeLong(e.getValue());
    }
  }

  static BudgetState readFrom(DataInputStream in) throws IOException {
    BudgetState s = new BudgetState();
    int n = count(in);
    for (int i = 0; i < n; i++) {
      String tokenId = in.readUTF();
      String agentId = in.readUTF();
      String parent = in.readUTF();
      Account a = new Account(agentId, parent.isEmpty() ? null : parent, in.readLong());
      a.charged = in.readLong();
      s.accounts.put(tokenId, a);
    }
    n = count(in);
    for (int i = 0; i < n; i++) {
      String leaseId = in.readUTF();
      s.leases.put(leaseId, new Outstanding(leaseId, in.readUTF(), in.readUTF(), in.readLong(),
          readWindow(in)));
    }
    n = count(in);
    for (int i = 0; i < n; i++) {
      AgentWindow w = readWindow(in);
      if (w == null) {
        throw new IOException("an agent window entry without a window");
      }
      s.windows.put(w, in.readLong());
    }
    return s;
  }

  private static void writeWindow(DataOutputStream out, @Nullable AgentWindow w)
      throws IOException {
    out.writeBoolean(w != null);
    if (w != null) {
      out.writeUTF(w.agentId());
      out.writeLong(w.startMs());
      out.writeLong(w.periodMs());
    }
  }

  @Nullable
  private static AgentWindow readWindow(DataInputStream in) throws IOException {
    return in.readBoolean() ? new AgentWindow(in.readUTF(), in.readLong(), in.readLong()) : null;
  }

  private static int count(DataInputStream in) throws IOException {
    int n = in.readInt();
    if (n < 0) {
      throw new IOException("negative count " + n);
    }
    return n;
  }
}
