package io.perishable.controlplane;

import com.google.protobuf.ByteString;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import io.perishable.controlplane.config.ControlPlaneConfig;
import io.perishable.controlplane.issue.IssuancePolicy;
import io.perishable.controlplane.issue.TokenIssuer;
import io.perishable.controlplane.issue.TokenServiceEndpoint;
import io.perishable.controlplane.issuer.IssuerAuthenticator;
import io.perishable.controlplane.keys.SigningKeyStore;
import io.perishable.controlplane.sync.SyncHub;
import io.perishable.proto.v1.PublicKey;
import io.perishable.proto.v1.Snapshot;
import io.perishable.token.SigningKey;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * The control plane as one gRPC server: TokenService (behind issuer authentication), Sync,
 * {@code grpc.health.v1} and server reflection.
 */
public final class ControlPlaneServer implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(ControlPlaneServer.class.getName());

  private final Server server;
  private final SyncHub syncHub;
  private final SigningKeyStore keys;
  private final ScheduledExecutorService scheduler;
  private final HealthStatusManager health;

  private ControlPlaneServer(Server server, SyncHub syncHub, SigningKeyStore keys,
      ScheduledExecutorService scheduler, HealthStatusManager health) {
    this.server = server;
    this.syncHub = syncHub;
    this.keys = keys;
    this.scheduler = scheduler;
    this.health = health;
  }

  /** Opens the key store, binds the port and starts serving. */
  public static ControlPlaneServer start(ControlPlaneConfig config, Clock clock) {
    config.validate();
    SigningKeyStore keys = SigningKeyStore.open(config.dataDir(), clock);
    ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "control-plane-scheduler");
      t.setDaemon(true);
      return t;
    });
    SyncHub syncHub = new SyncHub(() -> snapshot(keys), clock, config.heartbeatInterval(),
        scheduler);
    TokenIssuer issuer = new TokenIssuer(new IssuancePolicy(config), keys, clock);
    HealthStatusManager health = new HealthStatusManager();
    Server server = NettyServerBuilder
        .forAddress(new InetSocketAddress(config.host(), config.port()))
        .addService(ServerInterceptors.intercept(new TokenServiceEndpoint(issuer),
            new IssuerAuthenticator(config.issuers())))
        .addService(syncHub)
        .addService(health.getHealthService())
        .addService(ProtoReflectionServiceV1.newInstance())
        .build();
    try {
      server.start();
    } catch (IOException e) {
      syncHub.close();
      scheduler.shutdownNow();
      throw new UncheckedIOException(
          "cannot listen on " + config.host() + ":" + config.port(), e);
    }
    health.setStatus(HealthStatusManager.SERVICE_NAME_ALL_SERVICES,
        io.grpc.health.v1.HealthCheckResponse.ServingStatus.SERVING);
    LOG.info(() -> "control plane listening on " + config.host() + ":" + server.getPort()
        + ", signing key " + keys.current().keyId());
    return new ControlPlaneServer(server, syncHub, keys, scheduler, health);
  }

  private static Snapshot snapshot(SigningKeyStore keys) {
    Snapshot.Builder snapshot = Snapshot.newBuilder();
    for (SigningKey key : keys.all()) {
      snapshot.addKeys(PublicKey.newBuilder()
          .setKeyId(key.keyId())
          .setEd25519(ByteString.copyFrom(key.rawPublicKey()))
          .setCreatedAtMs(key.createdAtMs()));
    }
    return snapshot.build();
  }

  public int port() {
    return server.getPort();
  }

  public SyncHub syncHub() {
    return syncHub;
  }

  /** Id of the key signing new tokens. */
  public String currentKeyId() {
    return keys.current().keyId();
  }

  public void awaitTermination() throws InterruptedException {
    server.awaitTermination();
  }

  /** Stops accepting calls, lets in-flight ones finish (bounded), then stops. */
  @Override
  public void close() {
    health.enterTerminalState();
    syncHub.close();
    server.shutdown();
    try {
      if (!server.awaitTermination(5, TimeUnit.SECONDS)) {
        server.shutdownNow();
        server.awaitTermination(2, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      server.shutdownNow();
      Thread.currentThread().interrupt();
    }
    scheduler.shutdownNow();
  }
}
