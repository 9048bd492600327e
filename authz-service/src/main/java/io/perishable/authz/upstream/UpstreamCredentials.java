package io.perishable.authz.upstream;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/**
 * The real provider keys, by upstream name. Keys are loaded at start and validated as header
 * values; errors name the upstream and the source, never the key.
 */
public final class UpstreamCredentials {
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

  private final Map<String, Upstream> upstreams;

  private UpstreamCredentials(Map<String, Upstream> upstreams) {
    this.upstreams = Map.copyOf(upstreams);
  }

  /** Loads every upstream's key from its file or environment variable. */
  public static UpstreamCredentials load(
      Collection<UpstreamConfig> configs, Function<String, String> environment) {
    Map<String, Upstream> loaded = new HashMap<>();
    for (UpstreamConfig config : configs) {
      if (loaded.containsKey(config.name())) {
        throw new IllegalArgumentException("upstreams: '" + config.name() + "' defined twice");
      }
      loaded.put(config.name(), new Upstream(config, readKey(config, environment)));
    }
    return new UpstreamCredentials(loaded);
  }

  public Optional<Upstream> get(String name) {
    return Optional.ofNullable(upstreams.get(name));
  }

  private static String readKey(UpstreamConfig config, Function<String, String> environment) {
    String where;
    String key;
    if (config.apiKeyFile().isPresent()) {
      where = "file " + config.apiKeyFile().get();
      try {
        key = Files.readString(config.apiKeyFile().get(), StandardCharsets.UTF_8).strip();
      } catch (IOException e) {
        throw new IllegalArgumentException(
            "upstreams." + config.name() + ": cannot read api key " + where);
      }
    } else {
      where = "environment variable " + config.apiKeyEnv().get();
      key = environment.apply(config.apiKeyEnv().get());
      if (key == null) {
        throw new IllegalArgumentException(
            "upstreams." + config.name() + ": " + where + " is not set");
      }
      key = key.strip();
    }
    if (key.isEmpty()) {
      throw new IllegalArgumentException("upstreams." + config.name() + ": api key in " + where
          + " is empty");
    }
    for (int i = 0; i < key.length(); i++) {
      char c = key.charAt(i);
      if (c < 0x21 || c > 0x7e) {
        throw new IllegalArgumentException("upstreams." + config.name() + ": api key in "
            + where + " contains characters not allowed in a header value");
      }
    }
    return key;
  }
}
