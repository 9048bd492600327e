package io.perishable.authz.revocation;

import io.perishable.authz.token.VerifiedToken;
import io.perishable.proto.v1.RevocationRule;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The revocation rules this replica enforces, as pushed by the control plane.
 *
 * <p>Readers see one immutable, indexed {@link State} at a time through a volatile field, so
 * {@link #match} never locks and never sees half an update; writers ({@link #replaceAll} for
 * a snapshot, {@link #addAll} for a delta, {@link #dropExpired}) build the next state and swap
 * it in. Writes are rare (one per Revoke) and cost O(rules); reads are what must be cheap.
 *
 * <p>A rule matches a token when its selector does (the token's id or any ancestor id for a
 * token-id rule, the agent, any of the token's scopes, the issue time within the window) and,
 * when the rule has {@code issued_before_ms}, the token was issued before it.
 */
public final class RevocationSet {
  private volatile State state = State.EMPTY;

  /** Replaces every rule (a snapshot). */
  public synchronized void replaceAll(Collection<RevocationRule> rules) {
    Map<String, RevocationRule> next = new LinkedHashMap<>();
    rules.forEach(r -> next.put(r.getRuleId(), r));
    state = State.of(next);
  }

  /** Adds rules (a delta); a rule id already present is replaced. */
  public synchronized void addAll(Collection<RevocationRule> rules) {
    if (rules.isEmpty()) {
      return;
    }
    Map<String, RevocationRule> next = new LinkedHashMap<>(state.byRuleId);
    rules.forEach(r -> next.put(r.getRuleId(), r));
    state = State.of(next);
  }

  /**
   * Drops rules whose {@code expires_at_ms} lies before {@code nowMs}: no token they could
   * match is alive any longer. Returns how many were dropped.
   */
  public synchronized int dropExpired(long nowMs) {
    Map<String, RevocationRule> next = new LinkedHashMap<>(state.byRuleId);
    next.values().removeIf(r -> r.getExpiresAtMs() != 0 && r.getExpiresAtMs() < nowMs);
    int dropped = state.byRuleId.size() - next.size();
    if (dropped > 0) {
      state = State.of(next);
    }
    return dropped;
  }

  /** How many rules are in force. */
  public int size() {
    return state.byRuleId.size();
  }

  /** The rule that refuses this (signature-verified) token, if any. Lock-free. */
  public Optional<RevocationRule> match(VerifiedToken claims) {
    State s = state;
    if (s.byRuleId.isEmpty()) {
      return Optional.empty();
    }
    long issuedAt = claims.issuedAtMs();
    RevocationRule hit = first(s.byTokenId.get(claims.tokenId()), issuedAt);
    for (int i = 0; hit == null && i < claims.ancestorIds().size(); i++) {
      hit = first(s.byTokenId.get(claims.ancestorIds().get(i)), issuedAt);
    }
    if (hit == null) {
      hit = first(s.byAgent.get(claims.agentId()), issuedAt);
    }
    for (int i = 0; hit == null && i < claims.scopes().size(); i++) {
      hit = first(s.byScope.get(claims.scopes().get(i)), issuedAt);
    }
    for (int i = 0; hit == null && i < s.windows.size(); i++) {
      RevocationRule w = s.windows.get(i);
      if (issuedAt >= w.getIssuedWithin().getFromMs()
          && issuedAt < w.getIssuedWithin().getUntilMs() && before(w, issuedAt)) {
        hit = w;
      }
    }
    return Optional.ofNullable(hit);
  }

  private static RevocationRule first(List<RevocationRule> candidates, long issuedAt) {
    if (candidates == null) {
      return null;
    }
    for (int i = 0; i < candidates.size(); i++) {
      if (before(candidates.get(i), issuedAt)) {
        return candidates.get(i);
      }
    }
    return null;
  }

  private static boolean before(RevocationRule rule, long issuedAt) {
    return rule.getIssuedBeforeMs() == 0 || issuedAt < rule.getIssuedBeforeMs();
  }

  /** One immutable generation of rules, indexed by what they select on. */
  private record State(
      Map<String, RevocationRule> byRuleId,
      Map<String, List<RevocationRule>> byTokenId,
      Map<String, List<RevocationRule>> byAgent,
      Map<String, List<RevocationRule>> byScope,
      List<RevocationRule> windows) {

    static final State EMPTY = new State(Map.of(), Map.of(), Map.of(), Map.of(), List.of());

    static State of(Map<String, RevocationRule> rules) {
      Map<String, List<RevocationRule>> byTokenId = new HashMap<>();
      Map<String, List<RevocationRule>> byAgent = new HashMap<>();
      Map<String, List<RevocationRule>> byScope = new HashMap<>();
      List<RevocationRule> windows = new ArrayList<>();
      for (RevocationRule rule : rules.values()) {
        switch (rule.getSelectorCase()) {
          case TOKEN_ID -> byTokenId.computeIfAbsent(rule.getTokenId(), k -> new ArrayList<>())
              .add(rule);
          case AGENT_ID -> byAgent.computeIfAbsent(rule.getAgentId(), k -> new ArrayList<>())
              .add(rule);
          case SCOPE -> byScope.computeIfAbsent(rule.getScope(), k -> new ArrayList<>())
              .add(rule);
          case ISSUED_WITHIN -> windows.add(rule);
          default -> {
            // No selector: matches nothing (the control plane never sends one).
          }
        }
      }
      return new State(Map.copyOf(rules), byTokenId, byAgent, byScope, List.copyOf(windows));
    }
  }
}
