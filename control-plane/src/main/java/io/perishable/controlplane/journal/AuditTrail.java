package io.perishable.controlplane.journal;

import io.perishable.controlplane.audit.AuditEventType;
import io.perishable.controlplane.audit.AuditLog;
import io.perishable.controlplane.audit.AuditRecord;
import io.perishable.controlplane.budget.AgentWindow;
import io.perishable.controlplane.budget.BudgetRecords;
import io.perishable.controlplane.budget.Lease;
import io.perishable.controlplane.budget.ReturnedLease;
import io.perishable.controlplane.tokens.IndexedToken;
import io.perishable.proto.v1.RevocationRule;
import io.perishable.proto.v1.TimeWindow;
import io.perishable.proto.v1.TokenClaims;
import io.perishable.token.SigningKey;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.LongConsumer;
import javax.annotation.Nullable;

/**
 * Turns the control plane's token events into audit records and appends them; also reads the
 * records back into claims and rules ({@link #claimsOf}, {@link #ruleOf}) for {@link
 * StateReplay}.
 *
 * <p>An {@code issued} record holds every claim of the token (ids, times, agent, ancestors,
 * grant, labels) as fields and attributes, so the token index can be rebuilt from it exactly;
 * a {@code revoked} record holds the whole rule. Lists are written comma-separated, with {@code
 * %} inside an element written {@code %25} and {@code ,} written {@code %2C}.
 *
 * <p>Every future completes once the record is durable ({@link AuditLog#append}); callers answer
 * their client only then.
 */
public final class AuditTrail implements BudgetRecords {
  static final String LABEL_PREFIX = "label.";
  static final String BUDGET_TOKENS = "budget_tokens";
  static final String LEASE_ID = "lease_id";
  static final String AMOUNT = "amount";
  static final String CHARGED = "charged";
  static final String HOW = "how";
  static final String AGENT_WINDOW_START_MS = "agent_window_start_ms";
  static final String AGENT_WINDOW_MS = "agent_window_ms";

  private final AuditLog log;
  private final LongConsumer appendNanos;

  /**
   * @param log where records go
   * @param appendNanos told how long each append took to become durable (a metric)
   */
  public AuditTrail(AuditLog log, LongConsumer appendNanos) {
    this.log = log;
    this.appendNanos = appendNanos;
  }

  public AuditLog log() {
    return log;
  }

  /** Appends {@code draft}; the future completes once it is durable. */
  public CompletableFuture<AuditRecord> append(AuditRecord.Builder draft) {
    long start = System.nanoTime();
    CompletableFuture<AuditRecord> future;
    try {
      future = log.append(draft);
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
    return future.whenComplete((r, e) -> {
      if (e == null) {
        appendNanos.accept(System.nanoTime() - start);
      }
    });
  }

  /** An {@code issued} record: the token's claims (never the token) and who minted it. */
  public CompletableFuture<AuditRecord> issued(IndexedToken token) {
    return append(issuedRecord(token));
  }

  static AuditRecord.Builder issuedRecord(IndexedToken token) {
    TokenClaims c = token.claims();
    List<String> ancestors = c.getAncestorIdsList();
    AuditRecord.Builder b = AuditRecord.builder(AuditEventType.ISSUED)
        .tokenId(c.getTokenId())
        .agentId(c.getAgentId())
        .parentTokenId(ancestors.isEmpty() ? null : ancestors.get(ancestors.size() - 1))
        .keyId(c.getKeyId())
        .attribute("issued_at_ms", Long.toString(c.getIssuedAtMs()))
        .attribute("expires_at_ms", Long.toString(c.getExpiresAtMs()))
        .attribute("expires_at", Instant.ofEpochMilli(c.getExpiresAtMs()).toString())
        .attribute("ancestor_ids", join(ancestors))
        .attribute("scopes", join(c.getScopesList()))
        .attribute("models", join(c.getModelsList()))
        .attribute("upstream", c.getUpstream())
        .attribute("minted_by", token.mintedBy());
    if (c.getMaxTokensPerRequest() != 0) {
      b.attribute("max_tokens_per_request", Integer.toUnsignedString(c.getMaxTokensPerRequest()));
    }
    if (c.getBudgetTokens() != 0) {
      b.attribute(BUDGET_TOKENS, Long.toUnsignedString(c.getBudgetTokens()));
    }
    c.getLabelsMap().forEach((k, v) -> b.attribute(LABEL_PREFIX + k, v));
    return b;
  }

  /**
   * A {@code revoked} record: the rule (selector, bounds, expiry), the operator's reason, who
   * asked and how many indexed tokens it covered.
   */
  public CompletableFuture<AuditRecord> revoked(RevocationRule rule, int tokensCovered,
      String issuerId) {
    return append(revokedRecord(rule, tokensCovered, issuerId));
  }

  static AuditRecord.Builder revokedRecord(RevocationRule rule, int tokensCovered,
      String issuerId) {
    AuditRecord.Builder b = AuditRecord.builder(AuditEventType.REVOKED)
        .selector(selector(rule))
        .reason(rule.getReason())
        .attribute("rule_id", rule.getRuleId())
        .attribute("selector_kind", selectorKind(rule))
        .attribute("rule_created_at_ms", Long.toString(rule.getCreatedAtMs()))
        .attribute("rule_expires_at_ms", Long.toString(rule.getExpiresAtMs()))
        .attribute("tokens_covered", Integer.toUnsignedString(tokensCovered))
        .attribute("issuer", issuerId);
    if (rule.getIssuedBeforeMs() != 0) {
      b.attribute("issued_before_ms", Long.toString(rule.getIssuedBeforeMs()));
    }
    switch (rule.getSelectorCase()) {
      case TOKEN_ID -> b.tokenId(rule.getTokenId());
      case AGENT_ID -> b.agentId(rule.getAgentId());
      case SCOPE -> b.attribute("scope", rule.getScope());
      default -> b.attribute("issued_from_ms", Long.toString(rule.getIssuedWithin().getFromMs()))
          .attribute("issued_until_ms", Long.toString(rule.getIssuedWithin().getUntilMs()));
    }
    return b;
  }

  /** An {@code expired} record for a token whose expiry passed. */
  public CompletableFuture<AuditRecord> expired(TokenClaims c) {
    List<String> ancestors = c.getAncestorIdsList();
    return append(AuditRecord.builder(AuditEventType.EXPIRED)
        .tokenId(c.getTokenId())
        .agentId(c.getAgentId())
        .parentTokenId(ancestors.isEmpty() ? null : ancestors.get(ancestors.size() - 1))
        .attribute("expires_at_ms", Long.toString(c.getExpiresAtMs())));
  }

  /** A {@code key_rotated} record for a token-signing key put in service: its id, never it. */
  public CompletableFuture<AuditRecord> keyCreated(SigningKey key) {
    return append(AuditRecord.builder(AuditEventType.KEY_ROTATED)
        .keyId(key.keyId())
        .attribute("event", "created")
        .attribute("purpose", "token_signing")
        .attribute("created_at_ms", Long.toString(key.createdAtMs())));
  }

  /**
   * A {@code budget_leased} record: which replica holds how much of which token's budget, and
   * the agent window (agent, start, length) it is charged to, if any.
   */
  @Override
  public CompletableFuture<AuditRecord> leased(Lease lease, @Nullable AgentWindow window) {
    return append(leasedRecord(lease, window));
  }

  static AuditRecord.Builder leasedRecord(Lease lease, @Nullable AgentWindow window) {
    AuditRecord.Builder b = AuditRecord.builder(AuditEventType.BUDGET_LEASED)
        .tokenId(lease.tokenId())
        .replicaId(lease.replicaId())
        .attribute(LEASE_ID, lease.leaseId())
        .attribute(AMOUNT, Long.toString(lease.amount()))
        .attribute("expires_at_ms", Long.toString(lease.expiresAtMs()));
    if (window != null) {
      b.agentId(window.agentId())
          .attribute(AGENT_WINDOW_START_MS, Long.toString(window.startMs()))
          .attribute(AGENT_WINDOW_MS, Long.toString(window.periodMs()));
    }
    return b;
  }

  /** A {@code budget_returned} record: the lease, what was charged for it, and how. */
  @Override
  public CompletableFuture<AuditRecord> returned(ReturnedLease returned) {
    return append(returnedRecord(returned));
  }

  static AuditRecord.Builder returnedRecord(ReturnedLease returned) {
    return AuditRecord.builder(AuditEventType.BUDGET_RETURNED)
        .tokenId(returned.lease().tokenId())
        .replicaId(returned.lease().replicaId())
        .attribute(LEASE_ID, returned.lease().leaseId())
        .attribute(AMOUNT, Long.toString(returned.lease().amount()))
        .attribute(CHARGED, Long.toString(returned.charged()))
        .attribute(HOW, returned.how());
  }

  /** {@code token_id}, {@code agent_id}, {@code scope} or {@code issued_within}. */
  public static String selectorKind(RevocationRule rule) {
    switch (rule.getSelectorCase()) {
      case TOKEN_ID:
        return "token_id";
      case AGENT_ID:
        return "agent_id";
      case SCOPE:
        return "scope";
      default:
        return "issued_within";
    }
  }

  /** The human-readable selector, e.g. {@code agent_id=crawler-7,issued_before=…}. */
  static String selector(RevocationRule rule) {
    String selector;
    switch (rule.getSelectorCase()) {
      case TOKEN_ID -> selector = "token_id=" + rule.getTokenId();
      case AGENT_ID -> selector = "agent_id=" + rule.getAgentId();
      case SCOPE -> selector = "scope=" + rule.getScope();
      default -> selector = "issued_within=[" + Instant.ofEpochMilli(rule.getIssuedWithin()
          .getFromMs()) + "," + Instant.ofEpochMilli(rule.getIssuedWithin().getUntilMs()) + ")";
    }
    return rule.getIssuedBeforeMs() == 0 ? selector
        : selector + ",issued_before=" + Instant.ofEpochMilli(rule.getIssuedBeforeMs());
  }

  /** The claims an {@code issued} record holds (signature aside: the claims exactly). */
  public static TokenClaims claimsOf(AuditRecord r) {
    Map<String, String> a = r.attributes();
    TokenClaims.Builder c = TokenClaims.newBuilder()
        .setTokenId(r.tokenId())
        .setKeyId(nonNull(r.keyId()))
        .setIssuedAtMs(Long.parseLong(a.get("issued_at_ms")))
        .setExpiresAtMs(Long.parseLong(a.get("expires_at_ms")))
        .setAgentId(nonNull(r.agentId()))
        .addAllAncestorIds(split(a.get("ancestor_ids")))
        .addAllScopes(split(a.get("scopes")))
        .addAllModels(split(a.get("models")))
        .setUpstream(nonNull(a.get("upstream")));
    String maxTokens = a.get("max_tokens_per_request");
    if (maxTokens != null) {
      c.setMaxTokensPerRequest(Integer.parseUnsignedInt(maxTokens));
    }
    String budget = a.get(BUDGET_TOKENS);
    if (budget != null) {
      c.setBudgetTokens(Long.parseUnsignedLong(budget));
    }
    a.forEach((k, v) -> {
      if (k.startsWith(LABEL_PREFIX)) {
        c.putLabels(k.substring(LABEL_PREFIX.length()), v);
      }
    });
    return c.build();
  }

  /** Who minted the token of an {@code issued} record. */
  public static String mintedByOf(AuditRecord r) {
    return nonNull(r.attributes().get("minted_by"));
  }

  /** The rule a {@code revoked} record holds. */
  public static RevocationRule ruleOf(AuditRecord r) {
    Map<String, String> a = r.attributes();
    RevocationRule.Builder rule = RevocationRule.newBuilder()
        .setRuleId(a.get("rule_id"))
        .setReason(nonNull(r.reason()))
        .setCreatedAtMs(Long.parseLong(a.get("rule_created_at_ms")))
        .setExpiresAtMs(Long.parseLong(a.get("rule_expires_at_ms")));
    String before = a.get("issued_before_ms");
    if (before != null) {
      rule.setIssuedBeforeMs(Long.parseLong(before));
    }
    switch (a.get("selector_kind")) {
      case "token_id" -> rule.setTokenId(r.tokenId());
      case "agent_id" -> rule.setAgentId(r.agentId());
      case "scope" -> rule.setScope(a.get("scope"));
      case "issued_within" -> rule.setIssuedWithin(TimeWindow.newBuilder()
          .setFromMs(Long.parseLong(a.get("issued_from_ms")))
          .setUntilMs(Long.parseLong(a.get("issued_until_ms"))));
      default -> throw new IllegalArgumentException("revoked record " + r.seq()
          + " has an unknown selector_kind " + a.get("selector_kind"));
    }
    return rule.build();
  }

  private static String nonNull(String s) {
    return s == null ? "" : s;
  }

  /** Comma-separated, with {@code %} written {@code %25} and {@code ,} written {@code %2C}. */
  static String join(List<String> items) {
    List<String> encoded = new ArrayList<>();
    for (String item : items) {
      encoded.add(item.replace("%", "%25").replace(",", "%2C"));
    }
    return String.join(",", encoded);
  }

  static List<String> split(String joined) {
    List<String> out = new ArrayList<>();
    if (joined == null || joined.isEmpty()) {
      return out;
    }
    for (String part : joined.split(",", -1)) {
      StringBuilder item = new StringBuilder();
      for (int i = 0; i < part.length(); i++) {
        if (part.startsWith("%2C", i)) {
          item.append(',');
          i += 2;
        } else if (part.startsWith("%25", i)) {
          item.append('%');
          i += 2;
        } else {
          item.append(part.charAt(i));
        }
      }
      out.add(item.toString());
    }
    return out;
  }
}
