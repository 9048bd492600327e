package io.perishable.controlplane.revocation;

import com.google.protobuf.Timestamp;
import io.perishable.controlplane.sync.SyncHub;
import io.perishable.controlplane.tokens.IndexedToken;
import io.perishable.controlplane.tokens.TokenIndex;
import io.perishable.proto.v1.Delta;
import io.perishable.proto.v1.RevocationRule;
import io.perishable.proto.v1.RevokeRequest;
import io.perishable.proto.v1.TimeWindow;
import io.perishable.token.TokenIds;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiFunction;
import java.util.logging.Logger;

/**
 * Carries out {@code Revoke}: validates the selector, turns it into a {@link RevocationRule},
 * counts the indexed tokens it covers, records it in {@link RevocationRules} and publishes it
 * to every replica, waiting for their acks unless asked not to.
 *
 * <p>Bulk rules (agent, scope, window) cover only tokens issued before a bound, "now" unless
 * the caller names an earlier one, so a revoked agent can be given new credentials at once;
 * the rule lives until that bound plus {@code max_ttl} plus {@link #SKEW_MARGIN}, after which
 * no token it could match is accepted anywhere. A token-id rule lives until the token expires
 * (plus the margin): its descendants cannot outlive it.
 */
public final class Revoker {
  private static final Logger LOG = Logger.getLogger(Revoker.class.getName());

  /** Replicas accept a token up to their clock_skew (at most 5m) past its expiry. */
  public static final Duration SKEW_MARGIN = Duration.ofMinutes(5);
  public static final Duration DEFAULT_ACK_TIMEOUT = Duration.ofSeconds(5);
  public static final Duration MAX_ACK_TIMEOUT = Duration.ofSeconds(60);
  static final int MAX_REASON_CHARS = 256;

  private final TokenIndex index;
  private final RevocationRules rules;
  private final BiFunction<Delta, Duration, SyncHub.Propagation> publisher;
  private final Clock clock;
  private final Duration maxTtl;
  private final Set<String> knownScopes;

  /**
   * @param publisher sends a delta to every replica and waits up to the given time for acks
   *     ({@link SyncHub#publish} in production)
   * @param maxTtl the longest lifetime any token may have (bounds how long bulk rules live)
   * @param knownScopes the scope catalog's names: a scope rule for a typo would cover nothing
   */
  public Revoker(TokenIndex index, RevocationRules rules,
      BiFunction<Delta, Duration, SyncHub.Propagation> publisher, Clock clock, Duration maxTtl,
      Set<String> knownScopes) {
    this.index = index;
    this.rules = rules;
    this.publisher = publisher;
    this.clock = clock;
    this.maxTtl = maxTtl;
    this.knownScopes = Set.copyOf(knownScopes);
  }

  /**
   * What a Revoke did.
   *
   * @param tokensCovered indexed, unexpired tokens the rule matches
   * @param propagation which replicas acked; empty when the caller skipped waiting
   */
  public record Outcome(RevocationRule rule, int tokensCovered,
      Optional<SyncHub.Propagation> propagation) {}

  /**
   * A validated revocation not yet in force: the rule, how many indexed tokens it covers, and
   * how long to wait for replica acks (empty: the caller asked not to wait).
   */
  public record Prepared(String issuerId, RevocationRule rule, int tokensCovered,
      Optional<Duration> ackTimeout) {}

  /**
   * Revokes at once (validate, record, publish); throws {@link RevokeRejectedException} for a
   * bad request. The control plane itself goes through {@link #prepare} and {@link #enforce},
   * with the audit record made durable in between.
   *
   * @param issuerId who asked, for the log
   * @param maxWait the longest the caller can wait for acks (its gRPC deadline), if any
   */
  public Outcome revoke(String issuerId, RevokeRequest request, Optional<Duration> maxWait) {
    return enforce(prepare(issuerId, request, maxWait));
  }

  /**
   * Validates the request and builds its rule without putting it in force; throws {@link
   * RevokeRejectedException} for a bad request.
   */
  public Prepared prepare(String issuerId, RevokeRequest request, Optional<Duration> maxWait) {
    long now = clock.millis();
    RevocationRule rule = rule(request, now);
    Duration ackTimeout = ackTimeout(request, maxWait);

    AtomicInteger covered = new AtomicInteger();
    if (rule.getSelectorCase() == RevocationRule.SelectorCase.TOKEN_ID) {
      IndexedToken token = index.get(rule.getTokenId()).orElseThrow();
      List<IndexedToken> subtree = new ArrayList<>();
      subtree.add(token);
      subtree.addAll(index.descendants(token.tokenId()));
      subtree.forEach(t -> countIfCovered(rule, t, now, covered));
    } else {
      index.forEach(t -> countIfCovered(rule, t, now, covered));
    }
    return new Prepared(issuerId, rule, covered.get(),
        request.getSkipReplicaAck() ? Optional.empty() : Optional.of(ackTimeout));
  }

  /**
   * Puts a prepared rule in force: records it in {@link RevocationRules}, publishes it to every
   * replica and waits for their acks (unless the caller asked not to).
   */
  public Outcome enforce(Prepared prepared) {
    RevocationRule rule = prepared.rule();
    // Recorded before it is published: a replica connecting meanwhile gets it in its snapshot.
    rules.add(rule);
    Delta delta = Delta.newBuilder().addAddedRules(rule).build();
    Optional<SyncHub.Propagation> propagation;
    if (prepared.ackTimeout().isEmpty()) {
      publisher.apply(delta, Duration.ZERO);
      propagation = Optional.empty();
    } else {
      propagation = Optional.of(publisher.apply(delta, prepared.ackTimeout().get()));
    }
    LOG.info(() -> "revoked rule_id=" + rule.getRuleId() + " selector=" + describe(rule)
        + " issuer=" + prepared.issuerId() + " tokens_covered=" + prepared.tokensCovered()
        + " replicas=" + propagation.map(p -> "acked " + p.acked() + ", unacked " + p.unacked())
            .orElse("not waited for"));
    return new Outcome(rule, prepared.tokensCovered(), propagation);
  }

  private static void countIfCovered(RevocationRule rule, IndexedToken token, long now,
      AtomicInteger covered) {
    if (token.claims().getExpiresAtMs() > now && RuleMatch.matches(rule, token.claims())) {
      covered.incrementAndGet();
    }
  }

  /** The rule a valid request asks for; throws naming what is wrong. */
  RevocationRule rule(RevokeRequest request, long now) {
    List<String> selectors = new ArrayList<>();
    if (!request.getTokenId().isEmpty()) {
      selectors.add("token_id");
    }
    if (!request.getAgentId().isEmpty()) {
      selectors.add("agent_id");
    }
    if (!request.getScope().isEmpty()) {
      selectors.add("scope");
    }
    if (request.hasIssuedWithin()) {
      selectors.add("issued_within");
    }
    if (selectors.isEmpty()) {
      throw RevokeRejectedException.invalid("no selector: set exactly one of token_id, "
          + "agent_id, scope, issued_within");
    }
    if (selectors.size() > 1) {
      throw RevokeRejectedException.invalid("contradictory selector: " + String.join(" and ",
          selectors) + " are all set; set exactly one of token_id, agent_id, scope, "
          + "issued_within (issue one Revoke per selector)");
    }
    String reason = request.getReason();
    if (reason.length() > MAX_REASON_CHARS || !isPrintableAscii(reason)) {
      throw RevokeRejectedException.invalid(
          "reason must be at most " + MAX_REASON_CHARS + " printable ASCII characters");
    }
    Optional<Long> issuedBefore = Optional.empty();
    if (request.hasIssuedBefore()) {
      long before = millis(request.getIssuedBefore(), "issued_before");
      if (before > now) {
        throw RevokeRejectedException.invalid("issued_before " + Instant.ofEpochMilli(before)
            + " lies in the future; a revocation covers tokens already issued (omit it to mean"
            + " now)");
      }
      issuedBefore = Optional.of(before);
    }

    RevocationRule.Builder rule = RevocationRule.newBuilder()
        .setRuleId("rvk_" + TokenIds.random())
        .setReason(reason)
        .setCreatedAtMs(now);
    // Bulk rules cover tokens issued up to and including this millisecond, no later.
    long bound = issuedBefore.orElse(now + 1);
    switch (selectors.get(0)) {
      case "token_id" -> {
        IndexedToken token = index.get(request.getTokenId()).orElseThrow(() ->
            new RevokeRejectedException(RevokeRejectedException.Kind.NOT_FOUND, "token_id "
                + printable(request.getTokenId()) + " is not a token this control plane knows"
                + " (tokens are forgotten an hour after they expire)"));
        rule.setTokenId(token.tokenId());
        issuedBefore.ifPresent(rule::setIssuedBeforeMs);
        // Descendants expire no later than their ancestors.
        rule.setExpiresAtMs(token.claims().getExpiresAtMs() + SKEW_MARGIN.toMillis());
      }
      case "agent_id" -> {
        String agent = request.getAgentId();
        if (agent.length() > 128 || !isPrintableAscii(agent)) {
          throw RevokeRejectedException.invalid(
              "agent_id must be 1-128 printable ASCII characters");
        }
        rule.setAgentId(agent).setIssuedBeforeMs(bound).setExpiresAtMs(expiry(bound));
      }
      case "scope" -> {
        if (!knownScopes.contains(request.getScope())) {
          throw RevokeRejectedException.invalid("scope: unknown scope "
              + printable(request.getScope()) + "; known scopes: "
              + String.join(", ", new TreeSet<>(knownScopes)));
        }
        rule.setScope(request.getScope()).setIssuedBeforeMs(bound).setExpiresAtMs(expiry(bound));
      }
      default -> {
        var window = request.getIssuedWithin();
        if (!window.hasFrom()) {
          throw RevokeRejectedException.invalid("issued_within.from is required");
        }
        long from = millis(window.getFrom(), "issued_within.from");
        long until = window.hasUntil() ? millis(window.getUntil(), "issued_within.until")
            : now + 1;
        if (until > now + 1) {
          throw RevokeRejectedException.invalid("issued_within.until "
              + Instant.ofEpochMilli(until) + " lies in the future; a revocation covers tokens"
              + " already issued (omit it to mean now)");
        }
        if (from >= until) {
          throw RevokeRejectedException.invalid("issued_within is empty: from "
              + Instant.ofEpochMilli(from) + " is not before until " + Instant.ofEpochMilli(until));
        }
        if (issuedBefore.isPresent() && issuedBefore.get() <= from) {
          throw RevokeRejectedException.invalid("contradictory selector: issued_before "
              + Instant.ofEpochMilli(issuedBefore.get()) + " is not after issued_within.from "
              + Instant.ofEpochMilli(from) + ", so nothing could match");
        }
        rule.setIssuedWithin(TimeWindow.newBuilder().setFromMs(from).setUntilMs(until));
        issuedBefore.ifPresent(rule::setIssuedBeforeMs);
        rule.setExpiresAtMs(expiry(Math.min(until, issuedBefore.orElse(until))));
      }
    }
    return rule.build();
  }

  private long expiry(long issuedBeforeBound) {
    return issuedBeforeBound + maxTtl.toMillis() + SKEW_MARGIN.toMillis();
  }

  private static Duration ackTimeout(RevokeRequest request, Optional<Duration> maxWait) {
    Duration timeout = DEFAULT_ACK_TIMEOUT;
    if (request.hasReplicaAckTimeout()) {
      var t = request.getReplicaAckTimeout();
      timeout = Duration.ofSeconds(t.getSeconds(), t.getNanos());
      if (timeout.isNegative() || timeout.isZero() || timeout.compareTo(MAX_ACK_TIMEOUT) > 0) {
        throw RevokeRejectedException.invalid("replica_ack_timeout must lie between 1ms and "
            + MAX_ACK_TIMEOUT.toSeconds() + "s");
      }
    }
    if (maxWait.isPresent() && maxWait.get().compareTo(timeout) < 0) {
      timeout = maxWait.get().isNegative() ? Duration.ZERO : maxWait.get();
    }
    return timeout;
  }

  private static long millis(Timestamp t, String field) {
    if (t.getNanos() < 0 || t.getNanos() > 999_999_999) {
      throw RevokeRejectedException.invalid(field + ": nanos must be 0-999999999");
    }
    return Math.multiplyExact(t.getSeconds(), 1000L) + t.getNanos() / 1_000_000;
  }

  static String describe(RevocationRule rule) {
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

  private static boolean isPrintableAscii(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < 0x20 || c > 0x7e) {
        return false;
      }
    }
    return true;
  }

  private static String printable(String s) {
    return s.length() <= 64 && isPrintableAscii(s) ? "'" + s + "'" : "(unprintable or too long)";
  }
}
