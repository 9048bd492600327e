package io.perishable.authz.upstream;

import java.net.URI;
import java.nio.file.Path;
import java.util.Optional;

/**
 * A provider key stored in HashiCorp Vault's KV version 2 secrets engine: read with
 * {@code GET <address>/v1/<mount>/data/<path>}, field {@code <field>} of {@code data.data}.
 * The Vault token comes from a file (as the Vault agent or a Kubernetes projected volume
 * writes it; re-read on every fetch, so rotation works) or an environment variable.
 */
public record VaultKey(
    URI address, String mount, String path, String field, Optional<Path> tokenFile,
    Optional<String> tokenEnv) {

  public VaultKey {
    if (address == null || !(address.getScheme() != null
        && (address.getScheme().equals("https") || address.getScheme().equals("http")))) {
      throw new IllegalArgumentException("api_key_vault.address must be an http(s) URL");
    }
    for (String[] part : new String[][] {{"mount", mount}, {"path", path}, {"field", field}}) {
      if (part[1] == null || part[1].isBlank() || part[1].contains("..")) {
        throw new IllegalArgumentException("api_key_vault." + part[0] + " is required");
      }
    }
    if (tokenFile.isPresent() == tokenEnv.isPresent()) {
      throw new IllegalArgumentException(
          "api_key_vault: set exactly one of token_file or token_env");
    }
  }

  /** The KV v2 read URL. */
  URI dataUri() {
    String base = address.toString().replaceAll("/+$", "");
    return URI.create(base + "/v1/" + strip(mount) + "/data/" + strip(path));
  }

  private static String strip(String s) {
    return s.replaceAll("^/+|/+$", "");
  }

  @Override
  public String toString() {
    return address + " " + strip(mount) + "/" + strip(path) + "#" + field;
  }
}
