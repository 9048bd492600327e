package io.perishable.cli.stack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.perishable.authz.config.AuthzConfig;
import io.perishable.authz.upstream.UpstreamConfig;
import io.perishable.cli.config.ConfigFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the stack configures with and without real provider keys. */
class LocalStackConfigTest {
  @TempDir
  Path dir;

  private static AuthzConfig authzWith(String upstreams) {
    return ConfigFile.parse("control_plane: {}\nscopes:\n  llm:complete:\n    methods: [POST]\n"
        + "    paths: [/v1/chat/completions]\nupstreams:\n" + upstreams, Path.of("/data"))
        .authz();
  }

  @Test
  void noProviderKey_bothUpstreamsUseTheFakesKeyFiles() {
    assertFalse(LocalStack.realProviders(Map.of()));
    AuthzConfig authz = authzWith(LocalStack.upstreams(Map.of()));
    assertEquals(2, authz.upstreams().size());
    assertEquals(Optional.of(Path.of("/data/upstream-keys/openai.key")),
        authz.upstreams().get(0).apiKeyFile());
  }

  @Test
  void openAiKeyOnly_onlyOpenAiConfiguredFromTheEnvironment() {
    Map<String, String> env = Map.of("OPENAI_API_KEY", "sk-live");
    assertTrue(LocalStack.realProviders(env));
    AuthzConfig authz = authzWith(LocalStack.upstreams(env));
    assertEquals(1, authz.upstreams().size());
    UpstreamConfig openai = authz.upstreams().get(0);
    assertEquals("openai", openai.name());
    assertEquals(Optional.of("OPENAI_API_KEY"), openai.apiKeyEnv());
  }

  @Test
  void realProviders_envoyRunsTheProductionExamplePinnedToLoopback() throws Exception {
    Path file = dir.resolve("envoy.yaml");
    LocalStack.envoyConfig(ShippedEnvoy.repoRoot(), true, 18000, 19901, 17401, 0).write(file);

    EnvoyConfig written = EnvoyConfig.load(file);
    assertEquals(18000, written.listenerPort("llm_ingress"));
    String yaml = Files.readString(file);
    assertTrue(yaml.contains("api.openai.com"), "TLS clusters of the production example");
    assertFalse(yaml.contains("0.0.0.0"), "the local stack never listens beyond loopback");
    EnvoyValidator.validate(ShippedEnvoy.binary(), file);
  }

  @Test
  void fakeProvider_envoyRunsDevYamlPointedAtTheFake() throws Exception {
    Path file = dir.resolve("envoy.yaml");
    LocalStack.envoyConfig(ShippedEnvoy.repoRoot(), false, 18000, 19901, 17401, 17480)
        .write(file);

    assertTrue(Files.readString(file).contains("17480"));
    EnvoyValidator.validate(ShippedEnvoy.binary(), file);
  }
}
