package io.perishable.authz.report;

import static io.perishable.authz.report.ReportFixtures.await;
import static io.perishable.authz.report.ReportFixtures.config;
import static io.perishable.authz.report.ReportFixtures.decision;
import static io.perishable.authz.report.ReportFixtures.request;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.perishable.controlplane.audit.AuditEventType;
import io.perishable.controlplane.audit.AuditLog;
import io.perishable.controlplane.audit.AuditRecord;
import io.perishable.controlplane.audit.CheckpointKeys;
import io.perishable.controlplane.audit.FileAuditLog;
import io.perishable.controlplane.audit.FileAuditLogConfig;
import io.perishable.controlplane.report.InMemoryReportLedger;
import io.perishable.controlplane.report.ReportEndpoint;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The outage test, in-process: a replica's reporter streams to the real {@link ReportEndpoint}
 * over in-process gRPC into a real, fsyncing {@link FileAuditLog}; the control plane is stopped
 * (server gone, log closed) while decisions keep coming, then restarted from its files. Every
 * decision made meanwhile lands in the chain exactly once.
 */
class ReportOutageTest {
  @TempDir
  Path dir;

  private final Clock clock = Clock.systemUTC();
  private final String serverName = InProcessServerBuilder.generateName();
  private final ManagedChannel channel = InProcessChannelBuilder.forName(serverName).build();
  private final ExecutorService appendExecutor = Executors.newFixedThreadPool(2);
  private final ControlPlane controlPlane = new ControlPlane();

  @AfterEach
  void tearDown() throws InterruptedException {
    controlPlane.stop();
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    appendExecutor.shutdownNow();
  }

  /** The control plane's report path: audit log, ledger rebuilt from it, endpoint, server. */
  private final class ControlPlane {
    FileAuditLog log;
    Server server;

    void start() throws IOException {
      Path data = dir.resolve("control-plane");
      log = FileAuditLog.open(FileAuditLogConfig.defaults(data.resolve("audit")),
          CheckpointKeys.open(data, clock), clock);
      server = InProcessServerBuilder.forName(serverName).directExecutor()
          .addService(new ReportEndpoint(log, InMemoryReportLedger.rebuildFrom(log),
              appendExecutor))
          .build().start();
    }

    void stop() throws InterruptedException {
      if (server != null) {
        server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        log.close();
        server = null;
      }
    }

    /** How often each replica seq was recorded. */
    Map<Long, Integer> recordedSeqs() {
      Map<Long, Integer> out = new TreeMap<>();
      try (AuditLog.Reader reader = log.readFrom(1)) {
        reader.forEachRemaining(r -> {
          if (r.type() == AuditEventType.USED || r.type() == AuditEventType.DENIED) {
            out.merge(Long.parseLong(r.attributes().get(InMemoryReportLedger.SEQ_ATTRIBUTE)),
                1, Integer::sum);
          }
        });
      }
      return out;
    }
  }

  /** A spool (64 MiB) far larger than what the paced traffic spools during an outage. */
  private DecisionReporter startReplica() throws IOException {
    return DecisionReporter.start(config(dir.resolve("spool"))
        .withSpool(64L << 20, SpoolFullPolicy.FAIL_CLOSED).withSegmentBytes(256 << 10),
        channel, clock);
  }

  /**
   * Decides requests on its own thread, as Envoy's traffic would, until stopped; paced (a short
   * park per request) so that an outage of a few seconds cannot fill the spool.
   */
  private static final class Traffic implements AutoCloseable {
    final AtomicInteger decided = new AtomicInteger();
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final Thread thread;

    Traffic(DecisionReporter reporter) {
      thread = new Thread(() -> {
        while (running.get()) {
          int n = decided.get() + 1;
          reporter.decided(request(n), decision(n), 120_000);
          decided.set(n);
          LockSupport.parkNanos(10_000);
        }
      }, "traffic");
      thread.start();
    }

    void awaitDecided(int atLeast) {
      await(atLeast + " decisions", () -> decided.get() >= atLeast);
    }

    @Override
    public void close() {
      running.set(false);
      try {
        thread.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private static Map<Long, Integer> onceEach(long through) {
    Map<Long, Integer> out = new TreeMap<>();
    for (long s = 1; s <= through; s++) {
      out.put(s, 1);
    }
    return out;
  }

  @Test
  void controlPlaneStoppedWhileTrafficFlows_everyDecisionLandsExactlyOnce() throws Exception {
    controlPlane.start();
    try (DecisionReporter replica = startReplica()) {
      int total;
      try (Traffic traffic = new Traffic(replica)) {
        traffic.awaitDecided(300);
        await("some decisions acked", () -> replica.durableThroughSeq() > 0);

        controlPlane.stop();
        int atStop = traffic.decided.get();
        traffic.awaitDecided(atStop + 1000); // decided while the control plane is down

        controlPlane.start(); // from its files: log reopened, ledger rebuilt
        traffic.awaitDecided(traffic.decided.get() + 300);
      }
      total = replicaTotal(replica);
      await("spool drained", () -> replica.pendingDecisions() == 0);
      assertEquals(0, replica.unrecordedDecisions());
      assertTrue(replica.reconnects() >= 1);
      assertEquals(onceEach(total), controlPlane.recordedSeqs());
    }
  }

  @Test
  void replicaAndControlPlaneBothRestart_everyDecisionLandsExactlyOnce() throws Exception {
    controlPlane.start();
    try (DecisionReporter replica = startReplica()) {
      for (int i = 1; i <= 300; i++) {
        replica.decided(request(i), decision(i), 90_000);
      }
      await("first 300 acked", () -> replica.pendingDecisions() == 0);
    }
    // The replica restarts while the control plane is down. Acks are not persisted, so the new
    // process resends its newest segment: the control plane must not record those twice.
    controlPlane.stop();
    try (DecisionReporter replica = startReplica()) {
      for (int i = 301; i <= 600; i++) {
        replica.decided(request(i), decision(i), 90_000);
      }
      controlPlane.start();
      await("all acked", () -> replica.pendingDecisions() == 0);
      assertEquals(600, replica.durableThroughSeq());
    }
    Map<Long, Integer> recorded = controlPlane.recordedSeqs();
    assertEquals(onceEach(600), recorded);
    try (AuditLog.Reader reader = controlPlane.log.readFrom(1)) {
      AuditRecord first = null;
      while (first == null && reader.hasNext()) {
        AuditRecord r = reader.next();
        if (r.type() == AuditEventType.USED) {
          first = r;
        }
      }
      assertEquals("authz-test", first.replicaId());
      assertEquals(PromptHash.of(request(1).body()), first.promptHash());
      assertEquals("/v1/chat/completions", first.endpoint());
    }
  }

  private static int replicaTotal(DecisionReporter replica) {
    return (int) (replica.pendingDecisions() + replica.durableThroughSeq());
  }
}
