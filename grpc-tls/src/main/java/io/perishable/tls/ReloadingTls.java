package io.perishable.tls;

import io.grpc.ChannelCredentials;
import io.grpc.ServerCredentials;
import io.grpc.TlsChannelCredentials;
import io.grpc.TlsServerCredentials;
import io.grpc.util.AdvancedTlsX509KeyManager;
import io.grpc.util.AdvancedTlsX509TrustManager;
import io.grpc.util.AdvancedTlsX509TrustManager.Verification;
import java.io.IOException;
import java.security.GeneralSecurityException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * gRPC credentials over {@link TlsFiles}, re-read every {@code reloadInterval}. A malformed
 * update (a half-written file, a key that does not match its certificate) is ignored and the
 * previous credentials stay in use; connections already open keep theirs.
 *
 * <p>Servers require a client certificate chaining to the trusted CA. Clients additionally
 * check the server's host name against its certificate.
 */
public final class ReloadingTls implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(ReloadingTls.class.getName());

  private final AdvancedTlsX509KeyManager keys = new AdvancedTlsX509KeyManager();
  private final AdvancedTlsX509TrustManager serverTrust;
  private final AdvancedTlsX509TrustManager clientTrust;
  private final TlsFiles files;
  private final ScheduledFuture<?> reloads;
  private long identityStamp;
  private long trustStamp;

  private ReloadingTls(TlsFiles files, ScheduledExecutorService scheduler)
      throws IOException, GeneralSecurityException {
    this.files = files;
    serverTrust = AdvancedTlsX509TrustManager.newBuilder()
        .setVerification(Verification.CERTIFICATE_ONLY_VERIFICATION)
        .build();
    clientTrust = AdvancedTlsX509TrustManager.newBuilder()
        .setVerification(Verification.CERTIFICATE_AND_HOST_NAME_VERIFICATION)
        .build();
    loadIdentity();
    loadTrust();
    // grpc-java's own periodic reload rounds any period below one minute up to a minute; this
    // check honours the configured interval and reloads only files that changed.
    long period = files.reloadInterval().toMillis();
    reloads = scheduler.scheduleWithFixedDelay(this::reloadChanged, period, period,
        TimeUnit.MILLISECONDS);
  }

  private void loadIdentity() throws IOException, GeneralSecurityException {
    long stamp = stamp(files.certificateChain()) ^ stamp(files.privateKey());
    keys.updateIdentityCredentials(files.certificateChain().toFile(),
        files.privateKey().toFile());
    identityStamp = stamp;
  }

  private void loadTrust() throws IOException, GeneralSecurityException {
    long stamp = stamp(files.trustedCa());
    serverTrust.updateTrustCredentials(files.trustedCa().toFile());
    clientTrust.updateTrustCredentials(files.trustedCa().toFile());
    trustStamp = stamp;
  }

  private synchronized void reloadChanged() {
    try {
      if ((stamp(files.certificateChain()) ^ stamp(files.privateKey())) != identityStamp) {
        loadIdentity();
        LOG.info(() -> "reloaded TLS certificate " + files.certificateChain());
      }
      if (stamp(files.trustedCa()) != trustStamp) {
        loadTrust();
        LOG.info(() -> "reloaded trusted CAs " + files.trustedCa());
      }
    } catch (IOException | GeneralSecurityException | RuntimeException e) {
      // A half-written or mismatched file: keep serving with what we had, try again later.
      LOG.warning(() -> "TLS files not reloaded, keeping the previous ones: " + e.getMessage());
    }
  }

  private static long stamp(Path file) throws IOException {
    return Files.getLastModifiedTime(file).toMillis() * 31 + Files.size(file);
  }

  /**
   * Loads the files (failing now if they are unusable) and keeps re-reading them on
   * {@code scheduler}.
   */
  public static ReloadingTls watch(TlsFiles files, ScheduledExecutorService scheduler) {
    try {
      return new ReloadingTls(files, scheduler);
    } catch (IOException | GeneralSecurityException e) {
      throw new IllegalArgumentException("tls: cannot load " + files.certificateChain() + ", "
          + files.privateKey() + " or " + files.trustedCa() + ": " + e.getMessage());
    }
  }

  /** For a server that requires client certificates. */
  public ServerCredentials serverCredentials() {
    return TlsServerCredentials.newBuilder()
        .keyManager(keys)
        .trustManager(serverTrust)
        .clientAuth(TlsServerCredentials.ClientAuth.REQUIRE)
        .build();
  }

  /** For a client that presents its certificate and verifies the server's. */
  public ChannelCredentials channelCredentials() {
    return TlsChannelCredentials.newBuilder()
        .keyManager(keys)
        .trustManager(clientTrust)
        .build();
  }

  @Override
  public void close() {
    reloads.cancel(false);
  }
}
