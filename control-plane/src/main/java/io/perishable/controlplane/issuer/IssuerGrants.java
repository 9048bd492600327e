package io.perishable.controlplane.issuer;

import io.perishable.controlplane.config.DurationText;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * What a principal may grant when it mints tokens: a ceiling over scopes, models, upstreams,
 * lifetime and delegation depth. Principals are issuer ids ({@code ops}) for static secrets or
 * {@code <identity>:<sub>} for workload JWTs; {@code *} in a principal pattern matches any run
 * of characters (e.g. {@code k8s:system:serviceaccount:agents:*}).
 *
 * <p>An empty set means "anything the catalog has" for scopes, upstreams and models.
 */
public record IssuerGrants(
    String principalPattern,
    Set<String> scopes,
    Set<String> models,
    Set<String> upstreams,
    Optional<Duration> maxTtl,
    Optional<Integer> maxDelegationDepth) {

  public IssuerGrants {
    if (principalPattern == null || principalPattern.isBlank()) {
      throw new IllegalArgumentException("issuance policy: principal is required");
    }
    scopes = Set.copyOf(scopes);
    models = Set.copyOf(models);
    upstreams = Set.copyOf(upstreams);
  }

  /** True if this policy is about {@code principal}. */
  public boolean appliesTo(String principal) {
    String regex = Arrays.stream(principalPattern.split("\\*", -1))
        .map(Pattern::quote)
        .collect(Collectors.joining(".*"));
    return principal.matches(regex);
  }

  /**
   * What the request asks for beyond this ceiling, each as a sentence; empty when within.
   *
   * @param depth the new token's delegation depth (0 for a root token)
   */
  public List<String> refusals(Collection<String> requestedScopes,
      Collection<String> requestedModels, String upstream, Duration ttl, int depth) {
    List<String> out = new ArrayList<>();
    if (!scopes.isEmpty()) {
      List<String> extra = requestedScopes.stream().filter(s -> !scopes.contains(s)).toList();
      if (!extra.isEmpty()) {
        out.add("scopes " + extra + " are not in this issuer's grant " + sorted(scopes));
      }
    }
    if (!models.isEmpty()) {
      if (requestedModels.isEmpty()) {
        out.add("this issuer may only grant models " + sorted(models) + "; name them");
      } else {
        List<String> extra = requestedModels.stream().filter(m -> !models.contains(m)).toList();
        if (!extra.isEmpty()) {
          out.add("models " + extra + " are not in this issuer's grant " + sorted(models));
        }
      }
    }
    if (!upstreams.isEmpty() && !upstreams.contains(upstream)) {
      out.add("upstream '" + upstream + "' is not in this issuer's grant " + sorted(upstreams));
    }
    if (maxTtl.isPresent() && ttl.compareTo(maxTtl.get()) > 0) {
      out.add("ttl " + DurationText.format(ttl) + " exceeds this issuer's max_ttl "
          + DurationText.format(maxTtl.get()));
    }
    if (maxDelegationDepth.isPresent() && depth > maxDelegationDepth.get()) {
      out.add("delegation depth " + depth + " exceeds this issuer's max_delegation_depth "
          + maxDelegationDepth.get());
    }
    return out;
  }

  /** The first policy whose pattern matches, in configured order. */
  public static Optional<IssuerGrants> forPrincipal(
      List<IssuerGrants> policies, String principal) {
    return policies.stream().filter(p -> p.appliesTo(principal)).findFirst();
  }

  private static List<String> sorted(Set<String> values) {
    return values.stream().sorted().toList();
  }
}
