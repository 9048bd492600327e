package io.perishable.controlplane.issuer;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * A platform whose signed identity tokens (JWTs) may authenticate issuers, e.g. a Kubernetes
 * cluster's service-account tokens: the {@code iss} and {@code aud} they must carry, and where
 * the public keys (a JWKS) come from — a file (a mounted ConfigMap) or a URL.
 *
 * @param name short name used in principals ({@code <name>:<sub>}) and messages
 */
public record WorkloadIdentity(
    String name, String issuer, String audience, Optional<Path> jwksFile,
    Optional<URI> jwksUrl, Duration clockSkew) {

  public WorkloadIdentity {
    if (name == null || !name.matches("[a-z0-9][a-z0-9_-]{0,31}")) {
      throw new IllegalArgumentException(
          "workload identity name must be 1-32 characters of [a-z0-9_-], got '" + name + "'");
    }
    if (issuer == null || issuer.isBlank()) {
      throw new IllegalArgumentException("workload identity " + name + ": issuer is required");
    }
    if (audience == null || audience.isBlank()) {
      throw new IllegalArgumentException("workload identity " + name + ": audience is required");
    }
    if (jwksFile.isPresent() == jwksUrl.isPresent()) {
      throw new IllegalArgumentException(
          "workload identity " + name + ": set exactly one of jwks_file or jwks_url");
    }
    if (clockSkew.isNegative() || clockSkew.compareTo(Duration.ofMinutes(5)) > 0) {
      throw new IllegalArgumentException(
          "workload identity " + name + ": clock_skew must lie between 0s and 5m");
    }
  }
}
