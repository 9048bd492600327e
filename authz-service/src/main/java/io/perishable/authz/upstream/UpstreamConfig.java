package io.perishable.authz.upstream;

import java.nio.file.Path;
import java.util.Optional;

/**
 * One upstream as configured: its name (what tokens name, and the value of the routing header
 * Envoy routes on), dialect, and where its key comes from — exactly one of a file (preferred:
 * Kubernetes mounts secrets as files, and a rotated file is picked up without a restart), an
 * environment variable, or HashiCorp Vault's KV v2 API.
 */
public record UpstreamConfig(
    String name,
    Provider provider,
    Optional<Path> apiKeyFile,
    Optional<String> apiKeyEnv,
    Optional<VaultKey> apiKeyVault,
    String anthropicVersion) {

  public static final String DEFAULT_ANTHROPIC_VERSION = "2023-06-01";

  public UpstreamConfig {
    if (name == null || !name.matches("[a-z0-9][a-z0-9_-]{0,62}")) {
      throw new IllegalArgumentException("upstreams: name must be 1-63 characters of "
          + "[a-z0-9_-] starting with a letter or digit, got '" + name + "'");
    }
    int sources = (apiKeyFile.isPresent() ? 1 : 0) + (apiKeyEnv.isPresent() ? 1 : 0)
        + (apiKeyVault.isPresent() ? 1 : 0);
    if (sources != 1) {
      throw new IllegalArgumentException("upstreams." + name
          + ": set exactly one of api_key_file, api_key_env or api_key_vault");
    }
    if (anthropicVersion == null || anthropicVersion.isBlank()) {
      anthropicVersion = DEFAULT_ANTHROPIC_VERSION;
    }
  }

  /** An upstream whose key comes from a file or an environment variable. */
  public UpstreamConfig(String name, Provider provider, Optional<Path> apiKeyFile,
      Optional<String> apiKeyEnv, String anthropicVersion) {
    this(name, provider, apiKeyFile, apiKeyEnv, Optional.empty(), anthropicVersion);
  }

  /** Where the key is, for messages: never the key itself. */
  String source() {
    if (apiKeyFile.isPresent()) {
      return "file " + apiKeyFile.get();
    }
    if (apiKeyEnv.isPresent()) {
      return "environment variable " + apiKeyEnv.get();
    }
    return "vault " + apiKeyVault.get();
  }
}
