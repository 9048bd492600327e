package io.perishable.controlplane;

import com.google.protobuf.ByteString;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import io.perishable.controlplane.accesslog.AccessLogEndpoint;
import io.perishable.controlplane.report.InMemoryReportLedger;
import io.perishable.controlplane.report.ReportEndpoint;
import io.perishable.controlplane.audit.AuditLogCorruptedException;
import io.perishable.controlplane.audit.CheckpointKeys;
import io.perishable.controlplane.audit.FileAuditLog;
import io.perishable.controlplane.audit.FileAuditLogConfig;
import io.perishable.controlplane.budget.BudgetEndpoint;
import io.perishable.controlplane.budget.BudgetLedger;
import io.perishable.controlplane.budget.ReturnedLease;
import io.perishable.controlplane.config.ControlPlaneConfig;
import io.perishable.controlplane.issue.IssuancePolicy;
import io.perishable.controlplane.issue.TokenIssuer;
import io.perishable.controlplane.issue.TokenServiceEndpoint;
import io.perishable.controlplane.issuer.IssuerAuthenticator;
import io.perishable.controlplane.issuer.WorkloadIdentityVerifier;
import io.perishable.controlplane.journal.AuditTrail;
import io.perishable.controlplane.journal.ExpiryWatcher;
import io.perishable.controlplane.journal.StateReplay;
import io.perishable.controlplane.journal.StateSnapshots;
import io.perishable.controlplane.journal.StateSnapshotter;
import io.perishable.controlplane.keys.SigningKeyStore;
import io.perishable.controlplane.lookup.TokenLookup;
import io.perishable.controlplane.metrics.ControlPlaneMetrics;
import io.perishable.controlplane.revocation.RevocationRules;
import io.perishable.controlplane.revocation.Revoker;
import io.perishable.controlplane.revocation.RuleMatch;
import io.perishable.controlplane.sync.SyncHub;
import io.perishable.controlplane.tokens.InMemoryTokenIndex;
import io.perishable.controlplane.tokens.TokenIndex;
import io.perishable.controlplane.watch.AuditWatchEndpoint;
import io.perishable.proto.v1.PublicKey;
import io.perishable.proto.v1.RevocationRule;
import io.perishable.proto.v1.Snapshot;
import io.perishable.tls.ReloadingTls;
import io.perishable.token.SigningKey;
import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The control plane as one gRPC server: TokenService (behind issuer authentication),
 * AuditService (likewise), Sync, {@code grpc.health.v1} and server reflection; and Prometheus
 * {@code /metrics} on {@code metrics_port}.
 *
 * <p><b>The audit log is the source of truth.</b> On start the control plane opens {@code
 * <data_dir>/audit} (refusing to start on a damaged log unless told to quarantine its tail),
 * rebuilds the token index and the revocation rules by replaying it from seq 1, and records a
 * {@code key_rotated} event for any signing key the log has not seen yet (the first key, on the
 * first start). Issue and Revoke answer only once their record is durable, expiries are
 * recorded once per token, and the log signs its head every {@code audit.checkpoint_interval}
 * (and every {@code audit.checkpoint_every_records}).
 *
 * <p>What survives a restart: the signing keys and checkpoint keys (files under {@code
 * data_dir/keys}), the audit log, and through it the token index (tokens expired more than an
 * hour ago are forgotten again at once) and every revocation rule still in force, which
 * replicas receive in their snapshot when they reconnect.
 */
public final class ControlPlaneServer implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(ControlPlaneServer.class.getName());
  /** Expired tokens stay listable (state EXPIRED) this long, then the index forgets them. */
  static final Duration EXPIRED_RETENTION = Duration.ofHours(1);
  /** How often expired tokens are looked for (each gets one {@code expired} record). */
  static final Duration EXPIRY_SCAN = Duration.ofSeconds(1);
  /** How often a file JWKS (workload identity) is re-read, so rotated keys apply. */
  static final Duration WORKLOAD_JWKS_RELOAD = Duration.ofSeconds(30);
  /** How often the state snapshotter folds the new records (and snapshots at checkpoints). */
  static final Duration SNAPSHOT_PASS = Duration.ofSeconds(5);

  private final Server server;
  private final SyncHub syncHub;
  private final SigningKeyStore keys;
  private final ScheduledExecutorService scheduler;
  private final ExecutorService responder;
  private final ExecutorService reportAppends;
  private final HealthStatusManager health;
  private final FileAuditLog auditLog;
  private final CheckpointKeys checkpointKeys;
  private final AuditWatchEndpoint watch;
  private final HTTPServer metricsServer;
  private final ControlPlaneMetrics metrics;
  private final TokenIndex index;
  private final StateReplay.Summary replay;
  private final StateSnapshotter snapshotter;
  private final Duration shutdownGrace;
  private final BudgetLedger budgets;

  private ControlPlaneServer(Builder b) {
    this.server = b.server;
    this.syncHub = b.syncHub;
    this.keys = b.keys;
    this.scheduler = b.scheduler;
    this.responder = b.responder;
    this.health = b.health;
    this.auditLog = b.auditLog;
    this.reportAppends = b.reportAppends;
    this.checkpointKeys = b.checkpointKeys;
    this.watch = b.watch;
    this.metricsServer = b.metricsServer;
    this.metrics = b.metrics;
    this.index = b.index;
    this.replay = b.replay;
    this.snapshotter = b.snapshotter;
    this.shutdownGrace = b.shutdownGrace;
    this.budgets = b.budgets;
  }

  /** Everything start() assembles, so that a failure half way can release what it opened. */
  private static final class Builder {
    Server server;
    SyncHub syncHub;
    SigningKeyStore keys;
    ScheduledExecutorService scheduler;
    ExecutorService responder;
    ExecutorService reportAppends;
    HealthStatusManager health;
    FileAuditLog auditLog;
    CheckpointKeys checkpointKeys;
    AuditWatchEndpoint watch;
    HTTPServer metricsServer;
    ControlPlaneMetrics metrics;
    TokenIndex index;
    StateReplay.Summary replay;
    StateSnapshotter snapshotter;
    Duration shutdownGrace;
    BudgetLedger budgets;

    void release() {
      if (metricsServer != null) {
        metricsServer.close();
      }
      if (watch != null) {
        watch.close();
      }
      if (syncHub != null) {
        syncHub.close();
      }
      if (scheduler != null) {
        scheduler.shutdownNow();
      }
      if (responder != null) {
        responder.shutdownNow();
      }
      if (reportAppends != null) {
        reportAppends.shutdownNow();
      }
      if (auditLog != null) {
        auditLog.close();
      }
    }
  }

  /**
   * Opens the keys and the audit log, rebuilds the state from the log, binds the ports and
   * starts serving.
   *
   * @throws AuditLogCorruptedException if the audit log does not verify (and quarantine is off)
   * @throws UncheckedIOException if a port cannot be bound or the data directory is unusable
   */
  public static ControlPlaneServer start(ControlPlaneConfig config, Clock clock) {
    config.validate();
    Builder b = new Builder();
    try {
      return start(config, clock, b);
    } catch (RuntimeException | Error e) {
      b.release();
      throw e;
    }
  }

  private static ControlPlaneServer start(ControlPlaneConfig config, Clock clock, Builder b) {
    b.shutdownGrace = config.shutdownGrace();
    b.keys = SigningKeyStore.open(config.dataDir(), clock);
    b.metrics = new ControlPlaneMetrics();
    ControlPlaneMetrics metrics = b.metrics;
    b.checkpointKeys = CheckpointKeys.open(config.dataDir(), clock);
    b.auditLog = FileAuditLog.open(auditLogConfig(config), b.checkpointKeys, clock,
        metrics::auditFsynced);
    b.auditLog.recovery().quarantined().ifPresent(q -> LOG.warning(() -> "audit log was "
        + "damaged at seq " + q.firstBadSeq() + " (" + q.reason() + "); quarantined "
        + q.bytesMoved() + " byte(s) into " + q.sideFiles()));
    AuditTrail trail = new AuditTrail(b.auditLog, metrics::auditAppended);

    b.scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "control-plane-scheduler");
      t.setDaemon(true);
      return t;
    });
    AtomicLong responderThreads = new AtomicLong();
    b.responder = Executors.newCachedThreadPool(r -> {
      Thread t = new Thread(r, "control-plane-responder-" + responderThreads.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
    b.index = new InMemoryTokenIndex();
    TokenIndex index = b.index;
    RevocationRules rules = new RevocationRules();
    ExpiryWatcher expiries = new ExpiryWatcher(index, trail, clock);
    // The ledger de-duplicates decisions that authz replicas resend (ReportService).
    InMemoryReportLedger ledger = new InMemoryReportLedger();
    StateSnapshots snapshots =
        new StateSnapshots(b.auditLog.directory().resolve("snapshots"), b.checkpointKeys);
    StateReplay.Result rebuilt = StateReplay.rebuild(b.auditLog, snapshots);
    BudgetLedger budgets = new BudgetLedger(clock, config.budget().leaseTtl(),
        config.agentBudgets());
    b.budgets = budgets;
    rebuilt.state().installInto(index, rules, expiries, ledger, budgets);
    b.replay = rebuilt.summary();
    index.forgetExpiredBefore(clock.millis() - EXPIRED_RETENTION.toMillis());
    StateReplay.Summary replay = b.replay;
    metrics.rebuilt(replay.fromSnapshotSeq(), replay.records(),
        replay.rejectedSnapshots().size());
    LOG.info(() -> "rebuilt from the audit log in " + replay.millis() + "ms: "
        + (replay.fromSnapshotSeq() == 0 ? "no usable state snapshot, replayed from seq 1, "
            : "state snapshot at seq " + replay.fromSnapshotSeq() + " plus ")
        + replay.records() + " record(s), " + index.size() + " token(s) indexed, "
        + rules.live(clock.millis()).size() + " live revocation rule(s) of "
        + replay.revocations() + ", " + rebuilt.state().budgetAccountCount()
        + " budget account(s) with " + rebuilt.state().outstandingLeaseCount()
        + " outstanding lease(s)");
    b.snapshotter = new StateSnapshotter(b.auditLog, snapshots, rebuilt.state(),
        replay.fromSnapshotSeq(), config.audit().checkpointEveryRecords(),
        EXPIRED_RETENTION.toMillis(), new StateSnapshotter.Listener() {
          @Override
          public void written(long seq, long nanos) {
            metrics.snapshotWritten();
          }

          @Override
          public void failed(long seq, Exception e) {
            metrics.snapshotFailed();
          }
        });
    announceNewKeys(b.keys, replay, trail);

    SigningKeyStore keys = b.keys;
    b.syncHub = new SyncHub(() -> snapshot(keys, rules, clock), clock,
        config.heartbeatInterval(), b.scheduler);
    SyncHub syncHub = b.syncHub;
    TokenIssuer issuer =
        new TokenIssuer(new IssuancePolicy(config), keys, clock, index, rules,
        config.issuerGrants(), budgets);
    // Leases whose replica stopped renewing them go back to their budgets, on the record.
    b.scheduler.scheduleWithFixedDelay(() -> {
      try {
        for (ReturnedLease r : budgets.expireReturned()) {
          trail.returned(r).whenComplete((record, e) -> {
            if (e != null) {
              // A restart restores the lease and charges it whole: more, never less.
              LOG.log(Level.WARNING, "could not record the expiry of budget lease "
                  + r.lease().leaseId(), e);
            }
          });
        }
      } catch (RuntimeException e) {
        LOG.log(Level.WARNING, "budget lease expiry failed", e);
      }
    }, 1, 1, TimeUnit.SECONDS);
    Revoker revoker = new Revoker(index, rules, syncHub::publish, clock, config.maxTtl(),
        config.scopes().keySet());
    TokenLookup lookup = new TokenLookup(index, rules, clock);
    b.scheduler.scheduleAtFixedRate(() -> {
      try {
        index.forgetExpiredBefore(clock.millis() - EXPIRED_RETENTION.toMillis());
        rules.live(clock.millis());
      } catch (RuntimeException e) {
        LOG.log(Level.WARNING, "housekeeping failed", e);
      }
    }, 1, 1, TimeUnit.MINUTES);
    b.scheduler.scheduleWithFixedDelay(() -> {
      try {
        expiries.scan();
      } catch (RuntimeException e) {
        LOG.log(Level.WARNING, "expiry scan failed", e);
      }
    }, 0, EXPIRY_SCAN.toMillis(), TimeUnit.MILLISECONDS);
    StateSnapshotter snapshotter = b.snapshotter;
    b.scheduler.scheduleWithFixedDelay(snapshotter::catchUp, SNAPSHOT_PASS.toMillis(),
        SNAPSHOT_PASS.toMillis(), TimeUnit.MILLISECONDS);

    metrics.gauges(() -> liveTokens(index, rules, clock), () -> syncHub.replicas().size());
    metrics.budgets(budgets::leasedTokens, budgets::chargedTokens)
        .agentBudgets(budgets::agentRefusals, budgets::agentChargedTokens);
    if (config.metricsPort() >= 0) {
      b.metricsServer = metrics.serve(config.host(), config.metricsPort());
    }

    b.health = new HealthStatusManager();
    b.watch = new AuditWatchEndpoint(b.auditLog);
    // Decisions from authz replicas (ReportService) and request outcomes from Envoy
    // (AccessLogService) become audit records too; their appends run off the log's writer
    // thread.
    b.reportAppends = Executors.newFixedThreadPool(2, r -> {
      Thread t = new Thread(r, "report-append");
      t.setDaemon(true);
      return t;
    });
    Optional<WorkloadIdentityVerifier> workloads = config.workloadIdentity()
        .map(identity -> new WorkloadIdentityVerifier(identity, clock));
    workloads.ifPresent(verifier -> b.scheduler.scheduleWithFixedDelay(() -> {
      try {
        verifier.reload();
      } catch (RuntimeException e) {
        // A half-written JWKS file: keep the keys we had, try again next time.
        LOG.warning(() -> "JWKS not reloaded, keeping the previous keys: " + e.getMessage());
      }
    }, WORKLOAD_JWKS_RELOAD.toMillis(), WORKLOAD_JWKS_RELOAD.toMillis(),
        TimeUnit.MILLISECONDS));
    IssuerAuthenticator authenticator =
        new IssuerAuthenticator(config.issuers(), workloads, metrics::issuerRejected);
    InetSocketAddress address = new InetSocketAddress(config.host(), config.port());
    // With control_plane.tls only clients holding a certificate from its CA get in; the files
    // are re-read on the scheduler, so rotated certificates apply to new connections.
    Optional<ReloadingTls> tls = config.tls().map(files -> ReloadingTls.watch(files,
        b.scheduler));
    b.server = tls.map(t -> NettyServerBuilder.forAddress(address, t.serverCredentials()))
        .orElseGet(() -> NettyServerBuilder.forAddress(address))
        .addService(ServerInterceptors.intercept(
            new TokenServiceEndpoint(issuer, revoker, lookup, trail, b.responder, metrics),
            authenticator))
        .addService(ServerInterceptors.intercept(b.watch, authenticator))
        // Replicas lease unauthenticated, as they Sync and Report; usage queries need an issuer.
        .addService(ServerInterceptors.intercept(
            new BudgetEndpoint(budgets, clock, config.budget().leaseTtl(), trail, b.responder),
            BudgetEndpoint.issuerOnlyForUsage(authenticator)))
        .addService(syncHub)
        .addService(new ReportEndpoint(b.auditLog, ledger, b.reportAppends))
        .addService(new AccessLogEndpoint(b.auditLog))
        .addService(b.health.getHealthService())
        .addService(ProtoReflectionServiceV1.newInstance())
        .build();
    try {
      b.server.start();
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cannot listen on " + config.host() + ":" + config.port(), e);
    }
    b.health.setStatus(HealthStatusManager.SERVICE_NAME_ALL_SERVICES,
        io.grpc.health.v1.HealthCheckResponse.ServingStatus.SERVING);
    Server server = b.server;
    FileAuditLog log = b.auditLog;
    HTTPServer metricsServer = b.metricsServer;
    LOG.info(() -> "control plane listening on " + config.host() + ":" + server.getPort()
        + (config.tls().isPresent() ? " (mutual TLS)" : "")
        + ", signing key " + keys.current().keyId() + ", audit log " + log.directory()
        + " at seq " + log.head().seq() + (metricsServer == null ? ", metrics off"
            : ", metrics on http://" + config.host() + ":" + metricsServer.getPort()
                + "/metrics"));
    return new ControlPlaneServer(b);
  }

  private static FileAuditLogConfig auditLogConfig(ControlPlaneConfig config) {
    return FileAuditLogConfig.defaults(config.dataDir().resolve("audit"))
        .withCheckpoints(config.audit().checkpointEveryRecords(),
            config.audit().checkpointInterval())
        .withQuarantineDamagedTail(config.audit().quarantineDamagedTail());
  }

  /**
   * Records a {@code key_rotated} event for every signing key the log has not announced: the
   * first key on the first start, and any key added while the log did not exist. Waits for
   * durability: a key is not used before the log says it exists.
   */
  private static void announceNewKeys(SigningKeyStore keys, StateReplay.Summary replay,
      AuditTrail trail) {
    List<CompletableFuture<?>> pending = new ArrayList<>();
    for (SigningKey key : keys.all()) {
      if (!replay.keyIds().contains(key.keyId())) {
        pending.add(trail.keyCreated(key));
        LOG.info(() -> "signing key " + key.keyId() + " recorded in the audit log");
      }
    }
    CompletableFuture.allOf(pending.toArray(CompletableFuture[]::new)).join();
  }

  /** Indexed tokens neither expired nor covered by a live rule. */
  private static long liveTokens(TokenIndex index, RevocationRules rules, Clock clock) {
    long now = clock.millis();
    List<RevocationRule> live = rules.live(now);
    AtomicLong count = new AtomicLong();
    index.forEach(t -> {
      if (t.claims().getExpiresAtMs() > now
          && live.stream().noneMatch(r -> RuleMatch.matches(r, t.claims()))) {
        count.incrementAndGet();
      }
    });
    return count.get();
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

  /** The port {@code /metrics} is served on, or -1 when metrics are off. */
  public int metricsPort() {
    return metricsServer == null ? -1 : metricsServer.getPort();
  }

  public SyncHub syncHub() {
    return syncHub;
  }

  /** Token budgets and the leases replicas hold on them (tests watch leases being renewed). */
  public BudgetLedger budgetLedger() {
    return budgets;
  }

  /** Id of the key signing new tokens. */
  public String currentKeyId() {
    return keys.current().keyId();
  }

  /** Where the audit log lives ({@code <data_dir>/audit}). */
  public Path auditDirectory() {
    return auditLog.directory();
  }

  /** Raw public halves of the audit checkpoint keys, for verifiers. */
  public List<byte[]> checkpointPublicKeys() {
    return List.copyOf(checkpointKeys.publicKeys().values());
  }

  /** The last durable audit record's seq. */
  public long auditHeadSeq() {
    return auditLog.head().seq();
  }

  /** What the start-up replay of the audit log found. */
  public StateReplay.Summary replay() {
    return replay;
  }

  /** How many tokens the index holds now. */
  public int indexedTokens() {
    return index.size();
  }

  public ControlPlaneMetrics metrics() {
    return metrics;
  }

  public void awaitTermination() throws InterruptedException {
    server.awaitTermination();
  }

  /**
   * Stops accepting calls, lets in-flight ones finish (up to {@code shutdown_grace}, including
   * appends waiting for the audit log), then closes the audit log (which makes every accepted
   * record durable and writes a final checkpoint), writes a state snapshot at that checkpoint,
   * and closes the metrics listener.
   */
  @Override
  public void close() {
    health.enterTerminalState();
    syncHub.close();
    watch.close();
    server.shutdown();
    long deadline = System.nanoTime() + shutdownGrace.toNanos();
    try {
      if (!server.awaitTermination(shutdownGrace.toNanos(), TimeUnit.NANOSECONDS)) {
        server.shutdownNow();
        server.awaitTermination(2, TimeUnit.SECONDS);
      }
      // Calls whose answer waits for a durable record have left the server but not finished.
      responder.shutdown();
      if (!responder.awaitTermination(Math.max(0, deadline - System.nanoTime()),
          TimeUnit.NANOSECONDS)) {
        responder.shutdownNow();
      }
    } catch (InterruptedException e) {
      server.shutdownNow();
      responder.shutdownNow();
      Thread.currentThread().interrupt();
    }
    reportAppends.shutdown();
    try {
      reportAppends.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    scheduler.shutdownNow();
    try {
      scheduler.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    auditLog.close();
    // The log's last record is now a checkpoint: snapshot there, so a restart folds nothing.
    snapshotter.finish();
    if (metricsServer != null) {
      metricsServer.close();
    }
  }
}
