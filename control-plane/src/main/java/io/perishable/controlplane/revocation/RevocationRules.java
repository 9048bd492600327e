package io.perishable.controlplane.revocation;

import io.perishable.proto.v1.RevocationRule;
import io.perishable.proto.v1.TokenClaims;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import javax.annotation.concurrent.GuardedBy;

/**
 * The revocation rules in force, oldest first. A rule is kept until its
 * {@code expires_at_ms}, after which no token it could match is alive; every read drops the
 * ones that passed. Held in memory and rebuilt from the audit log's {@code revoked} records on
 * start, so the rules survive a restart.
 */
public final class RevocationRules {
  @GuardedBy("this")
  private final Map<String, RevocationRule> rules = new LinkedHashMap<>();

  /** Adds a rule (a rule id already present is replaced). */
  public synchronized void add(RevocationRule rule) {
    rules.put(rule.getRuleId(), rule);
  }

  /** The rules still in force at {@code nowMs}, oldest first. */
  public synchronized List<RevocationRule> live(long nowMs) {
    rules.values().removeIf(rule -> rule.getExpiresAtMs() <= nowMs);
    return new ArrayList<>(rules.values());
  }

  /** The oldest rule in force at {@code nowMs} that covers {@code claims}. */
  public Optional<RevocationRule> firstMatch(TokenClaims claims, long nowMs) {
    for (RevocationRule rule : live(nowMs)) {
      if (RuleMatch.matches(rule, claims)) {
        return Optional.of(rule);
      }
    }
    return Optional.empty();
  }
}
