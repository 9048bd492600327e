package io.perishable.authz.upstream;

import java.nio.file.Path;
import java.util.Optional;

/**
 * One upstream as configured: its name (what tokens name, and the value of the routing header
 * Envoy routes on), dialect, and where its key comes from: a file (preferred: Kubernetes
 * mounts secrets as files) or an environment variable.
 */
public record UpstreamConfig(
    String name,
    Provider provider,
    Optional<Path> apiKeyFile,
    Optional<String> apiKeyEnv,
    String anthropicVersion) {

  public static final String DEFAULT_ANTHROPIC_VERSION = "2023-06-01";

  public UpstreamConfig {
    if (name == null || !name.matches("[a-z0-9][a-z0-9_-]{0,62}")) {
      throw new IllegalArgumentException("upstreams: name must be 1-63 characters of "
          + "[a-z0-9_-] starting with a letter or digit, got '" + name + "'");
    }
    if (apiKeyFile.isPresent() == apiKeyEnv.isPresent()) {
      throw new IllegalArgumentException(
          "upstreams." + name + ": set exactly one of api_key_file or api_key_env");
    }
    if (anthropicVersion == null || anthropicVersion.isBlank()) {
      anthropicVersion = DEFAULT_ANTHROPIC_VERSION;
    }
  }
}
