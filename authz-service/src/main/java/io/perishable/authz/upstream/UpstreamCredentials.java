package io.perishable.authz.upstream;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.logging.Logger;

/**
 * The real provider keys, by upstream name. Keys are loaded at start (a key that cannot be
 * loaded stops the start) and can be {@link #reload() reloaded}: a rotated key file or Vault
 * secret takes effect for the next request, without a restart. Readers see one immutable map
 * at a time. Errors and logs name the upstream and the source, never the key.
 */
public final class UpstreamCredentials {
  private static final Logger LOG = Logger.getLogger(UpstreamCredentials.class.getName());

  /** An upstream ready to receive requests: its config and its key. */
  public record Upstream(UpstreamConfig config, String apiKey) {
    public String name() {
      return config.name();
    }

    public Provider provider() {
      return config.provider();
    }

    @Override
    public String toString() {
      return "Upstream[" + config.name() + ", " + config.provider() + ", key=(redacted)]";
    }
  }

  /** What one {@link #reload()} did. */
  public record Reload(List<String> changed, List<String> failed) {}

  private final List<UpstreamConfig> configs;
  private final Function<String, String> environment;
  private final VaultKvClient vault;
  private volatile Map<String, Upstream> upstreams;

  private UpstreamCredentials(List<UpstreamConfig> configs, Function<String, String> environment,
      Map<String, Upstream> upstreams) {
    this.configs = configs;
    this.environment = environment;
    this.vault = new VaultKvClient(environment);
    this.upstreams = Map.copyOf(upstreams);
  }

  /** Loads every upstream's key from its file, environment variable or Vault. */
  public static UpstreamCredentials load(
      Collection<UpstreamConfig> configs, Function<String, String> environment) {
    Map<String, Upstream> loaded = new HashMap<>();
    VaultKvClient vault = new VaultKvClient(environment);
    for (UpstreamConfig config : configs) {
      if (loaded.containsKey(config.name())) {
        throw new IllegalArgumentException("upstreams: '" + config.name() + "' defined twice");
      }
      try {
        loaded.put(config.name(), new Upstream(config, readKey(config, environment, vault)));
      } catch (IllegalStateException e) {
        throw new IllegalArgumentException("upstreams." + config.name() + ": " + e.getMessage());
      }
    }
    return new UpstreamCredentials(List.copyOf(configs), environment, loaded);
  }

  public Optional<Upstream> get(String name) {
    return Optional.ofNullable(upstreams.get(name));
  }

  /**
   * Re-reads keys from files and Vault (environment variables cannot change under a running
   * process). A key that fails to load keeps its previous value, so a half-written file or a
   * Vault outage never takes an upstream down.
   */
  public synchronized Reload reload() {
    Map<String, Upstream> next = new HashMap<>(upstreams);
    List<String> changed = new ArrayList<>();
    List<String> failed = new ArrayList<>();
    for (UpstreamConfig config : configs) {
      if (config.apiKeyEnv().isPresent()) {
        continue;
      }
      try {
        String key = readKey(config, environment, vault);
        if (!key.equals(next.get(config.name()).apiKey())) {
          next.put(config.name(), new Upstream(config, key));
          changed.add(config.name());
        }
      } catch (IllegalStateException | IllegalArgumentException e) {
        failed.add(config.name());
        LOG.warning(() -> "upstream " + config.name() + ": key reload failed, keeping the "
            + "previous key: " + e.getMessage());
      }
    }
    if (!changed.isEmpty()) {
      upstreams = Map.copyOf(next);
      LOG.info(() -> "reloaded api key for upstream(s) " + changed);
    }
    return new Reload(changed, failed);
  }

  private static String readKey(UpstreamConfig config, Function<String, String> environment,
      VaultKvClient vault) {
    String key;
    if (config.apiKeyFile().isPresent()) {
      try {
        key = Files.readString(config.apiKeyFile().get(), StandardCharsets.UTF_8).strip();
      } catch (IOException e) {
        throw new IllegalStateException("cannot read api key " + config.source());
      }
    } else if (config.apiKeyEnv().isPresent()) {
      key = environment.apply(config.apiKeyEnv().get());
      if (key == null) {
        throw new IllegalStateException(config.source() + " is not set");
      }
      key = key.strip();
    } else {
      key = vault.read(config.apiKeyVault().get()).strip();
    }
    if (key.isEmpty()) {
      throw new IllegalStateException("api key in " + config.source() + " is empty");
    }
    for (int i = 0; i < key.length(); i++) {
      char c = key.charAt(i);
      if (c < 0x21 || c > 0x7e) {
        throw new IllegalStateException("api key in " + config.source()
            + " contains characters not allowed in a header value");
      }
    }
    return key;
  }
}
