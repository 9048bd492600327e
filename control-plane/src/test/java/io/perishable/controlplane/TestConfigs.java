package io.perishable.controlplane;

import io.perishable.controlplane.config.ControlPlaneConfig;
import io.perishable.controlplane.config.IssuerCredential;
import io.perishable.controlplane.issuer.IssuerAuthenticator;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** Named builders of the configurations tests start from. */
public final class TestConfigs {
  public static final String ISSUER_SECRET = "pis_test-secret-0123456789abcdef";

  private TestConfigs() {}

  /**
   * Scopes llm:complete (max_ttl 1h) and llm:embed (max_ttl 30m); upstreams openai, anthropic;
   * delegation at most 2 levels deep.
   */
  public static ControlPlaneConfig controlPlane(Path dataDir) {
    Map<String, Optional<Duration>> scopes = new LinkedHashMap<>();
    scopes.put("llm:complete", Optional.empty());
    scopes.put("llm:embed", Optional.of(Duration.ofMinutes(30)));
    return new ControlPlaneConfig("127.0.0.1", 0, dataDir, Duration.ofMinutes(15),
        Duration.ofHours(1), scopes, Set.of("openai", "anthropic"), "openai",
        List.of(new IssuerCredential("ops", IssuerAuthenticator.sha256(ISSUER_SECRET))),
        Duration.ofMillis(50), 2).validate();
  }
}
