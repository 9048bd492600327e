package io.perishable.authz;

import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import io.perishable.authz.body.RequestBodyInspector;
import io.perishable.authz.config.AuthzConfig;
import io.perishable.authz.config.BudgetSettings;
import io.perishable.authz.decision.DecisionEngine;
import io.perishable.authz.decision.DecisionListener;
import io.perishable.authz.budget.BudgetGate;
import io.perishable.authz.budget.BudgetLeaseClient;
import io.perishable.authz.budget.BudgetSettler;
import io.perishable.authz.budget.LeaseKeeper;
import io.perishable.authz.budget.ReservationBook;
import io.perishable.authz.budget.UsageListener;
import io.perishable.authz.envoy.AuthorizationEndpoint;
import io.perishable.authz.envoy.CheckWarmup;
import io.perishable.authz.envoy.UsageMeterEndpoint;
import io.perishable.authz.metrics.AuthzMetrics;
import io.perishable.authz.metrics.MetricsEndpoint;
import io.perishable.authz.metrics.UsageMetrics;
import io.perishable.authz.ratelimit.RateLimiter;
import io.perishable.authz.report.DecisionReporter;
import io.perishable.authz.report.ReportConfig;
import io.perishable.authz.revocation.RevocationSet;
import io.perishable.authz.scope.ScopeCatalog;
import io.perishable.authz.sync.SyncClient;
import io.perishable.authz.sync.SyncStatus;
import io.perishable.authz.token.KeyRing;
import io.perishable.authz.token.TokenVerifier;
import io.perishable.authz.upstream.UpstreamCredentials;
import io.perishable.authz.upstream.UpstreamKeyReloader;
import io.perishable.tls.ReloadingTls;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * authz-service as one process: Envoy's Authorization service, {@code grpc.health.v1}
 * (NOT_SERVING until the first key snapshot arrives, and again while draining) and server
 * reflection on the gRPC port; Prometheus metrics on {@code /metrics}; the Sync client that
 * keeps keys and revocation rules current; and the reloader that picks up rotated provider
 * keys.
 */
public final class AuthzServer implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(AuthzServer.class.getName());
  /** Longest server-sent event the usage meter reads; usage events are a few hundred bytes. */
  private static final int MAX_SSE_EVENT_BYTES = 1024 * 1024;
  private static final Duration BUDGET_LEASE_DEADLINE = Duration.ofSeconds(2);
  /** Longer than Envoy's route timeout (600s): a reservation this old was never metered. */
  private static final Duration MAX_RESERVATION_AGE = Duration.ofMinutes(15);

  private final Server server;
  private final SyncClient sync;
  private final ManagedChannel controlPlane;
  private final ScheduledExecutorService scheduler;
  private final HealthStatusManager health;
  private final TokenVerifier verifier;
  private final RevocationSet revocations;
  private final MetricsEndpoint metrics;
  private final UpstreamKeyReloader keyReloader;
  private final Duration shutdownGrace;
  private final DecisionReporter reporter;

  private AuthzServer(Server server, SyncClient sync, ManagedChannel controlPlane,
      ScheduledExecutorService scheduler, HealthStatusManager health, TokenVerifier verifier,
      RevocationSet revocations, MetricsEndpoint metrics, UpstreamKeyReloader keyReloader,
      Duration shutdownGrace, DecisionReporter reporter) {
    this.reporter = reporter;
    this.server = server;
    this.sync = sync;
    this.controlPlane = controlPlane;
    this.scheduler = scheduler;
    this.health = health;
    this.verifier = verifier;
    this.revocations = revocations;
    this.metrics = metrics;
    this.keyReloader = keyReloader;
    this.shutdownGrace = shutdownGrace;
  }

  /**
   * Loads upstream keys, binds the ports, starts serving and connects to the control plane.
   *
   * @param environment where {@code api_key_env} keys are looked up (System::getenv in
   *     production)
   * @param listener told of every decision besides the metrics (logs, reports)
   */
  public static AuthzServer start(AuthzConfig config, Clock clock,
      Function<String, String> environment, DecisionListener listener) {
    return start(config, Optional.empty(), clock, environment, listener);
  }

  /**
   * As {@link #start(AuthzConfig, Clock, Function, DecisionListener)}, also streaming every
   * decision to the control plane's audit log through a local spool when {@code reports} is
   * given.
   */
  public static AuthzServer start(AuthzConfig config, Optional<ReportConfig> reports,
      Clock clock, Function<String, String> environment, DecisionListener listener) {
    config.validate();
    UpstreamCredentials upstreams = UpstreamCredentials.load(config.upstreams(), environment);
    ScopeCatalog scopes = new ScopeCatalog(config.scopes());
    KeyRing keys = new KeyRing();
    RevocationSet revocations = new RevocationSet();
    TokenVerifier verifier =
        new TokenVerifier(keys, clock, config.clockSkew(), config.tokenCacheSize());
    ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "authz-background");
      t.setDaemon(true);
      return t;
    });
    HealthStatusManager health = new HealthStatusManager();
    health.setStatus(HealthStatusManager.SERVICE_NAME_ALL_SERVICES, ServingStatus.NOT_SERVING);
    Optional<ReloadingTls> serverTls =
        config.tls().map(files -> ReloadingTls.watch(files, scheduler));
    Optional<ReloadingTls> controlPlaneTls =
        config.controlPlaneTls().map(files -> ReloadingTls.watch(files, scheduler));
    ManagedChannel controlPlane = controlPlaneTls
        .map(tls -> NettyChannelBuilder.forTarget(config.controlPlane(),
            tls.channelCredentials()))
        .orElseGet(() -> NettyChannelBuilder.forTarget(config.controlPlane()).usePlaintext())
        .build();
    // Set once the engine exists; runs before the replica first says SERVING.
    AtomicReference<Runnable> warmup = new AtomicReference<>(() -> { });
    SyncClient sync = new SyncClient(controlPlane, config.replicaId(), keys, revocations,
        verifier, System::nanoTime,
        scheduler, () -> {
          warmup.get().run();
          health.setStatus(HealthStatusManager.SERVICE_NAME_ALL_SERVICES, ServingStatus.SERVING);
        });
    // Rules whose tokens have all expired are dead weight on the hot path.
    scheduler.scheduleAtFixedRate(() -> revocations.dropExpired(clock.millis()),
        1, 1, TimeUnit.MINUTES);

    DecisionReporter reporter = null;
    if (reports.isPresent()) {
      try {
        reporter = DecisionReporter.start(reports.get().validate(), controlPlane, clock);
      } catch (IOException e) {
        controlPlane.shutdownNow();
        scheduler.shutdownNow();
        throw new UncheckedIOException(
            "cannot open the decision spool " + reports.get().spoolDirectory(), e);
      }
    }
    AuthzMetrics authzMetrics =
        new AuthzMetrics(verifier, sync).revocationRules(revocations::size);
    if (reporter != null) {
      authzMetrics.reports(reporter);
    }
    DecisionReporter recorder = reporter;
    UpstreamKeyReloader keyReloader = new UpstreamKeyReloader(upstreams,
        config.keyReloadInterval(), scheduler, authzMetrics::keysReloaded);
    RateLimiter rateLimiter = new RateLimiter(System::nanoTime, config.tokenCacheSize());
    RequestBodyInspector inspector = new RequestBodyInspector(config.maxJsonDepth());
    DecisionEngine engine = new DecisionEngine(verifier, revocations, scopes, upstreams,
        inspector, sync, config.maxStaleness(),
        rateLimiter, recorder == null ? () -> true : recorder::acceptingDecisions);
    warmup.set(() -> {
      try {
        CheckWarmup.run(engine, inspector);
      } catch (RuntimeException e) {
        LOG.log(Level.WARNING, "Check warm-up failed; the first requests may be slow", e);
      }
    });
    DecisionListener listeners = recorder == null
        ? DecisionListener.all(authzMetrics, listener)
        : DecisionListener.all(authzMetrics, listener, recorder);
    // Budgets: leased from the control plane in chunks, reserved per request in Check, settled
    // by the usage the ext_proc stream reads from the response.
    // A lease is renewed every renew interval and not spent in the last renew interval of its
    // ttl, in case the control plane took it back.
    BudgetSettings budget = config.budget();
    BudgetLeaseClient leases = new BudgetLeaseClient(controlPlane, config.replicaId(),
        BUDGET_LEASE_DEADLINE, budget.renewInterval());
    ReservationBook book = new ReservationBook(leases, System::nanoTime, budget.leaseChunk(),
        budget.leaseChunk() / 4, budget.renewInterval());
    new LeaseKeeper(book, leases, System::nanoTime, scheduler, budget.renewInterval(),
        MAX_RESERVATION_AGE);
    BudgetGate budgetGate = new BudgetGate(book, budget.defaultMaxTokens());
    UsageMetrics usageMetrics = new UsageMetrics(authzMetrics.registry());
    BudgetSettler settler = new BudgetSettler(book);
    UsageListener metered = response -> {
      usageMetrics.metered(response);
      settler.metered(response);
      if (recorder != null) {
        recorder.metered(response); // the completion hash and usage, into the audit trail
      }
    };
    InetSocketAddress address = new InetSocketAddress(config.host(), config.port());
    Server server = serverTls
        .map(tls -> NettyServerBuilder.forAddress(address, tls.serverCredentials()))
        .orElseGet(() -> NettyServerBuilder.forAddress(address))
        // Check never blocks: deciding on the transport thread saves a hand-off per request.
        .directExecutor()
        // A Check carries the whole body plus headers (Envoy allows up to 60 KiB-96 KiB).
        .maxInboundMessageSize(config.maxBodyBytes() + 1024 * 1024)
        .addService(new AuthorizationEndpoint(engine, listeners, budgetGate))
        .addService(new UsageMeterEndpoint(metered, MAX_SSE_EVENT_BYTES))
        .addService(health.getHealthService())
        .addService(ProtoReflectionServiceV1.newInstance())
        .build();
    MetricsEndpoint metrics = null;
    try {
      server.start();
      if (config.metricsPort() >= 0) {
        metrics = MetricsEndpoint.start(config.metricsHost(), config.metricsPort(),
            authzMetrics.registry());
      }
    } catch (IOException | RuntimeException e) {
      server.shutdownNow();
      keyReloader.close();
      if (recorder != null) {
        recorder.close();
      }
      controlPlane.shutdownNow();
      scheduler.shutdownNow();
      if (e instanceof IOException io) {
        throw new UncheckedIOException(
            "cannot listen on " + config.host() + ":" + config.port(), io);
      }
      throw (RuntimeException) e;
    }
    sync.start();
    MetricsEndpoint started = metrics;
    LOG.info(() -> "authz-service " + config.replicaId() + " listening on " + config.host() + ":"
        + server.getPort() + (serverTls.isPresent() ? " (mTLS)" : "")
        + (started == null ? "" : ", metrics on :" + started.port())
        + ", control plane " + config.controlPlane());
    return new AuthzServer(server, sync, controlPlane, scheduler, health, verifier,
        revocations, metrics, keyReloader, config.shutdownGrace(), recorder);
  }

  public int port() {
    return server.getPort();
  }

  /** Port of {@code /metrics}; -1 when metrics are off. */
  public int metricsPort() {
    return metrics == null ? -1 : metrics.port();
  }

  /** True once keys have arrived from the control plane. */
  public boolean ready() {
    return sync.hasSnapshot();
  }

  /** How current the pushed keys are. */
  public SyncStatus syncStatus() {
    return sync;
  }

  public TokenVerifier verifier() {
    return verifier;
  }

  /** The revocation rules this replica enforces. */
  public RevocationSet revocations() {
    return revocations;
  }

  public void awaitTermination() throws InterruptedException {
    server.awaitTermination();
  }

  /**
   * Drains: health turns NOT_SERVING (so load balancers stop sending), the port stops
   * accepting, in-flight Checks finish within the shutdown grace, then everything stops.
   */
  @Override
  public void close() {
    health.enterTerminalState();
    server.shutdown();
    try {
      if (!server.awaitTermination(shutdownGrace.toMillis(), TimeUnit.MILLISECONDS)) {
        LOG.warning("in-flight Checks did not finish within the shutdown grace; cutting off");
        server.shutdownNow();
      }
    } catch (InterruptedException e) {
      server.shutdownNow();
      Thread.currentThread().interrupt();
    }
    keyReloader.close();
    if (reporter != null) {
      // After the drain: every decision made is in the spool; it flushes what it can.
      reporter.close();
    }
    sync.close();
    if (metrics != null) {
      metrics.close();
    }
    controlPlane.shutdownNow();
    scheduler.shutdownNow();
  }
}
