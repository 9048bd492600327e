package io.perishable.authz.upstream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.function.Function;

/**
 * Reads one field of a KV v2 secret. Errors say which secret and what went wrong (status,
 * missing field) and never include the Vault token or the secret's value.
 */
final class VaultKvClient {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final HttpClient http = HttpClient.newBuilder()
      .connectTimeout(Duration.ofSeconds(5))
      .build();
  private final Function<String, String> environment;

  VaultKvClient(Function<String, String> environment) {
    this.environment = environment;
  }

  String read(VaultKey key) {
    String token = vaultToken(key);
    HttpResponse<String> response;
    try {
      response = http.send(HttpRequest.newBuilder(key.dataUri())
          .timeout(Duration.ofSeconds(10))
          .header("X-Vault-Token", token)
          .GET().build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new IllegalStateException("vault " + key + ": " + e.getClass().getSimpleName());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("vault " + key + ": interrupted");
    }
    if (response.statusCode() != 200) {
      throw new IllegalStateException("vault " + key + ": HTTP " + response.statusCode());
    }
    JsonNode value;
    try {
      value = JSON.readTree(response.body()).path("data").path("data").path(key.field());
    } catch (IOException e) {
      throw new IllegalStateException("vault " + key + ": response is not KV v2 JSON");
    }
    if (!value.isTextual()) {
      throw new IllegalStateException("vault " + key + ": field is missing or not a string");
    }
    return value.textValue();
  }

  private String vaultToken(VaultKey key) {
    String token;
    if (key.tokenFile().isPresent()) {
      try {
        token = Files.readString(key.tokenFile().get(), StandardCharsets.UTF_8).strip();
      } catch (IOException e) {
        throw new IllegalStateException("vault " + key + ": cannot read token file "
            + key.tokenFile().get());
      }
    } else {
      token = environment.apply(key.tokenEnv().get());
      if (token == null || token.isBlank()) {
        throw new IllegalStateException("vault " + key + ": environment variable "
            + key.tokenEnv().get() + " is not set");
      }
    }
    return token.strip();
  }
}
