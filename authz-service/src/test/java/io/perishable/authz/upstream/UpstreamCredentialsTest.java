package io.perishable.authz.upstream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class UpstreamCredentialsTest {
  @TempDir
  Path dir;

  private HttpServer vault;

  @AfterEach
  void stopVault() {
    if (vault != null) {
      vault.stop(0);
    }
  }

  private UpstreamConfig fromFile(Path file) {
    return new UpstreamConfig("openai", Provider.OPENAI, Optional.of(file), Optional.empty(),
        null);
  }

  @Test
  void reload_rotatedKeyFile_nextLookupHasTheNewKey() throws Exception {
    Path file = dir.resolve("openai.key");
    Files.writeString(file, "sk-first\n");
    UpstreamCredentials credentials = UpstreamCredentials.load(List.of(fromFile(file)),
        Map.<String, String>of()::get);
    assertEquals("sk-first", credentials.get("openai").orElseThrow().apiKey());

    Files.writeString(file, "sk-second\n");
    UpstreamCredentials.Reload reload = credentials.reload();

    assertEquals(List.of("openai"), reload.changed());
    assertEquals("sk-second", credentials.get("openai").orElseThrow().apiKey());
    assertEquals(List.of(), credentials.reload().changed(), "unchanged file, no reload");
  }

  @Test
  void reload_fileGoneOrEmpty_keepsThePreviousKey() throws Exception {
    Path file = dir.resolve("openai.key");
    Files.writeString(file, "sk-first");
    UpstreamCredentials credentials = UpstreamCredentials.load(List.of(fromFile(file)),
        Map.<String, String>of()::get);

    Files.writeString(file, "   ");
    assertEquals(List.of("openai"), credentials.reload().failed());
    Files.delete(file);
    assertEquals(List.of("openai"), credentials.reload().failed());
    assertEquals("sk-first", credentials.get("openai").orElseThrow().apiKey());
  }

  @Test
  void load_missingKey_errorNamesUpstreamAndSourceNotKey() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () ->
        UpstreamCredentials.load(List.of(new UpstreamConfig("openai", Provider.OPENAI,
            Optional.empty(), Optional.of("OPENAI_API_KEY"), null)),
            Map.<String, String>of()::get));
    assertEquals("upstreams.openai: environment variable OPENAI_API_KEY is not set",
        e.getMessage());
  }

  @Test
  void load_keyWithNewline_refusedWithoutEchoingIt() throws Exception {
    Path file = dir.resolve("k");
    Files.writeString(file, "sk-abc\u0007def");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> UpstreamCredentials.load(List.of(fromFile(file)), Map.<String, String>of()::get));
    assertFalse(e.getMessage().contains("sk-abc"));
  }

  /** A fake Vault serving one KV v2 secret, checking the token. */
  private URI startVault(AtomicReference<String> secretValue, String expectedToken)
      throws Exception {
    vault = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    vault.createContext("/v1/secret/data/llm/openai", exchange -> {
      boolean authorized = expectedToken.equals(
          exchange.getRequestHeaders().getFirst("X-Vault-Token"));
      byte[] body = (authorized
          ? "{\"data\":{\"data\":{\"api_key\":\"" + secretValue.get() + "\"},"
              + "\"metadata\":{\"version\":3}}}"
          : "{\"errors\":[\"permission denied\"]}").getBytes(StandardCharsets.UTF_8);
      exchange.sendResponseHeaders(authorized ? 200 : 403, body.length);
      exchange.getResponseBody().write(body);
      exchange.close();
    });
    vault.start();
    return URI.create("http://127.0.0.1:" + vault.getAddress().getPort());
  }

  @Test
  void vault_kvV2Secret_loadedAndRotated() throws Exception {
    AtomicReference<String> secret = new AtomicReference<>("sk-from-vault-1");
    URI address = startVault(secret, "hvs.test-token");
    Path tokenFile = dir.resolve("vault-token");
    Files.writeString(tokenFile, "hvs.test-token\n");
    UpstreamConfig config = new UpstreamConfig("openai", Provider.OPENAI, Optional.empty(),
        Optional.empty(), Optional.of(new VaultKey(address, "secret", "llm/openai", "api_key",
            Optional.of(tokenFile), Optional.empty())), null);

    UpstreamCredentials credentials =
        UpstreamCredentials.load(List.of(config), Map.<String, String>of()::get);
    assertEquals("sk-from-vault-1", credentials.get("openai").orElseThrow().apiKey());

    secret.set("sk-from-vault-2");
    assertEquals(List.of("openai"), credentials.reload().changed());
    assertEquals("sk-from-vault-2", credentials.get("openai").orElseThrow().apiKey());
  }

  @Test
  void vault_wrongToken_startRefusedNamingTheSecretNotTheToken() throws Exception {
    URI address = startVault(new AtomicReference<>("sk-x"), "hvs.right");
    UpstreamConfig config = new UpstreamConfig("openai", Provider.OPENAI, Optional.empty(),
        Optional.empty(), Optional.of(new VaultKey(address, "secret", "llm/openai", "api_key",
            Optional.empty(), Optional.of("VAULT_TOKEN"))), null);

    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () ->
        UpstreamCredentials.load(List.of(config), Map.of("VAULT_TOKEN", "hvs.wrong")::get));
    assertEquals("upstreams.openai: vault " + address + " secret/llm/openai#api_key: HTTP 403",
        e.getMessage());
    assertFalse(e.getMessage().contains("hvs."));
  }

  @Test
  void config_twoKeySources_refused() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () ->
        new UpstreamConfig("openai", Provider.OPENAI, Optional.of(dir), Optional.of("X"), null));
    assertTrue(e.getMessage().contains("exactly one of api_key_file, api_key_env or "
        + "api_key_vault"));
  }
}
