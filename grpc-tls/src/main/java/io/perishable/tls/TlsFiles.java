package io.perishable.tls;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * Where one side of a mutual-TLS connection finds its credentials, all PEM:
 *
 * @param certificateChain this side's certificate (and intermediates)
 * @param privateKey its PKCS#8 private key ({@code BEGIN PRIVATE KEY})
 * @param trustedCa the CA bundle the other side's certificate must chain to
 * @param reloadInterval how often the files are re-read
 */
public record TlsFiles(Path certificateChain, Path privateKey, Path trustedCa,
    Duration reloadInterval) {

  public static final Duration DEFAULT_RELOAD_INTERVAL = Duration.ofSeconds(60);

  public TlsFiles {
    require(certificateChain, "cert_file");
    require(privateKey, "key_file");
    require(trustedCa, "ca_file");
    if (reloadInterval == null) {
      reloadInterval = DEFAULT_RELOAD_INTERVAL;
    }
    if (reloadInterval.toMillis() < 10) {
      throw new IllegalArgumentException("tls.reload_interval must be at least 10ms");
    }
  }

  private static void require(Path path, String field) {
    if (path == null) {
      throw new IllegalArgumentException("tls." + field + " is required");
    }
    if (!Files.isReadable(path)) {
      throw new IllegalArgumentException("tls." + field + ": cannot read " + path);
    }
  }
}
