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
import io.perishable.controlplane.lookup.TokenLookup;
import io.perishable.controlplane.revocation.RevocationRules;
import io.perishable.controlplane.revocation.Revoker;
import io.perishable.controlplane.sync.SyncHub;
import io.perishable.controlplane.tokens.InMemoryTokenIndex;
import io.perishable.controlplane.tokens.TokenIndex;
import io.perishable.proto.v1.PublicKey;
import io.perishable.proto.v1.Snapshot;
import io.perishable.token.SigningKey;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * The control plane as one gRPC server: TokenService (behind issuer authentication), Sync,
 * {@code grpc.health.v1} and server reflection.
 *
 * <p>What survives a restart: the signing keys (files under {@code data_dir/keys}), and with
 * them every token minted before, which keeps verifying at the replicas until it expires.
 * What does not, until the audit log lands: the token index and every revocation rule, both
 * held in memory. After a restart revoked tokens that have not yet expired are accepted again
 * (replicas reconnect and receive a snapshot without the rules), and GetToken, ListTokens,
 * GetLineage and Revoke-by-id know only tokens minted since.
 */
public final class ControlPlaneServer implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(ControlPlaneServer.class.getName());
  /** Expired tokens stay listable (state EXPIRED) this long, then the index forgets them. */
  static final Duration EXPIRED_RETENTION = Duration.ofHours(1);

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
    TokenIndex index = new InMemoryTokenIndex();
    RevocationRules rules = new RevocationRules();
    SyncHub syncHub = new SyncHub(() -> snapshot(keys, rules, clock), clock,
        config.heartbeatInterval(), scheduler);
    TokenIssuer issuer = new TokenIssuer(new IssuancePolicy(config), keys, clock, index, rules);
    Revoker revoker = new Revoker(index, rules, syncHub::publish, clock, config.maxTtl(),
        config.scopes().keySet());
    TokenLookup lookup = new TokenLookup(index, rules, clock);
    scheduler.scheduleAtFixedRate(() -> {
      index.forgetExpiredBefore(clock.millis() - EXPIRED_RETENTION.toMillis());
      rules.live(clock.millis());
    }, 1, 1, TimeUnit.MINUTES);
    HealthStatusManager health = new HealthStatusManager();
    Server server = NettyServerBuilder
        .forAddress(new InetSocketAddress(config.host(), config.port()))
        .addService(ServerInterceptors.intercept(
            new TokenServiceEndpoint(issuer, revoker, lookup),
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

  /** Public keys and the revocation rules in force: all a replica needs to decide. */
  private static Snapshot snapshot(SigningKeyStore keys, RevocationRules rules, Clock clock) {
    Snapshot.Builder snapshot = Snapshot.newBuilder().addAllRules(rules.live(clock.millis()));
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
