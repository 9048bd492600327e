package io.perishable.authz.report;

import io.grpc.Channel;
import io.perishable.authz.budget.MeteredResponse;
import io.perishable.authz.budget.UsageListener;
import io.perishable.authz.decision.AuthzRequest;
import io.perishable.authz.decision.Decision;
import io.perishable.authz.decision.DecisionListener;
import io.perishable.proto.v1.DecisionReport;
import java.io.IOException;
import java.time.Clock;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Reports every decision to the control plane's audit log, durably and off the request's
 * critical path (DESIGN.md "The check", step 6).
 *
 * <p><b>Flow.</b> The engine calls {@link #decided} after Envoy has its answer. That call turns
 * the decision into a {@code DecisionReport} (ids, method, path without query, model, SHA-256 of
 * the body: never the token, a key or the body), and writes it to the local {@link Spool} with
 * one {@code write(2)}: from then on a kill -9 of the process cannot lose it. A background task
 * fsyncs the spool every {@link ReportConfig#fsyncInterval()}. A sender thread streams spooled
 * decisions to {@code ReportService.Report} in batches and deletes them once the control plane
 * acks that they are fsynced in its audit log. While the control plane is unreachable, decisions
 * accumulate in the spool; on reconnect (capped exponential backoff) the sender resends from the
 * oldest unacked one, and after a restart from whatever the spool still holds. Delivery is
 * at-least-once; the control plane de-duplicates by (replica id, spool id, seq), so each decision
 * lands in the chain exactly once.
 *
 * <p><b>When the spool is full</b> ({@link ReportConfig#spoolCapacityBytes()}), {@link
 * ReportConfig#whenSpoolFull()} decides: {@link SpoolFullPolicy#FAIL_CLOSED} (default) makes
 * {@link #acceptingDecisions()} false before the spool is quite full, and the engine refuses new
 * requests with {@code audit_unavailable}; {@link SpoolFullPolicy#KEEP_SERVING} serves on and
 * counts each decision it could not record in {@link #unrecordedDecisions()}.
 *
 * <p><b>Completions.</b> The same spool and stream carry each forwarded request's metered
 * response ({@link #metered}, from Envoy's ext_proc stream): the SHA-256 of the response body
 * and the usage the provider reported, which the control plane records as a {@code completion}
 * record joined to the {@code used} one by request id. Never the response text.
 *
 * <p>Thread-safe; {@link #decided} and {@link #metered} never block on the network and never
 * throw.
 */
public final class DecisionReporter implements DecisionListener, UsageListener, AutoCloseable {
  private static final Logger LOG = Logger.getLogger(DecisionReporter.class.getName());

  private final Spool spool;
  private final ReportSender sender;
  private final ScheduledExecutorService flusher;
  private final Clock clock;

  private DecisionReporter(Spool spool, ReportSender sender, ScheduledExecutorService flusher,
      Clock clock) {
    this.spool = spool;
    this.sender = sender;
    this.flusher = flusher;
    this.clock = clock;
  }

  /**
   * Opens the spool (replaying what a previous process left), starts the fsync task and the
   * sender, and returns at once: connecting happens in the background.
   *
   * @param channel to the control plane (the same one the Sync stream uses is fine)
   * @param clock stamps each report's {@code time_ms}
   * @throws IOException if the spool directory cannot be opened
   * @throws IllegalArgumentException if the config is invalid
   */
  public static DecisionReporter start(ReportConfig config, Channel channel, Clock clock)
      throws IOException {
    config.validate();
    ReportSender[] sender = new ReportSender[1];
    Spool spool = Spool.open(config, () -> sender[0].wake());
    sender[0] = new ReportSender(spool, channel, config);
    ScheduledExecutorService flusher = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "report-spool-fsync");
      t.setDaemon(true);
      return t;
    });
    long interval = config.fsyncInterval().toNanos();
    flusher.scheduleWithFixedDelay(spool::sync, interval, interval, TimeUnit.NANOSECONDS);
    sender[0].start();
    return new DecisionReporter(spool, sender[0], flusher, clock);
  }

  @Override
  public void decided(AuthzRequest request, Decision decision, long elapsedNanos) {
    try {
      DecisionReport report = DecisionReports.of(request, decision, elapsedNanos, clock.millis());
      spool.append(report);
    } catch (RuntimeException e) {
      // Never let reporting break the caller; the spool counts what it could not record, and
      // this path (a bug in building the report) is counted the same way.
      spool.countUnrecorded();
      LOG.log(Level.SEVERE, "could not build a decision report", e);
    }
  }

  /**
   * Spools the completion of a forwarded request: its response's hash and usage. A response
   * Envoy did not name a request id for cannot be joined to its decision and is still recorded.
   */
  @Override
  public void metered(MeteredResponse response) {
    try {
      spool.append(CompletionReports.of(response, clock.millis()));
    } catch (RuntimeException e) {
      spool.countUnrecorded();
      LOG.log(Level.SEVERE, "could not build a completion report", e);
    }
  }

  /**
   * False when new requests must be refused because their decisions could not be recorded:
   * under {@link SpoolFullPolicy#FAIL_CLOSED}, once the spool has less than {@link
   * ReportConfig#reserveBytes()} free or has failed to write. Cheap (one uncontended lock); call
   * it per request. Always true under {@link SpoolFullPolicy#KEEP_SERVING}.
   */
  public boolean acceptingDecisions() {
    return spool.acceptingDecisions();
  }

  /**
   * Decisions that could not be recorded since start (spool full, a write error): a counter
   * for metrics ({@code perishable_authz_report_unrecorded_total}). Under FAIL_CLOSED only
   * refusals beyond the reserve end up here.
   */
  public long unrecordedDecisions() {
    return spool.unrecorded();
  }

  /** Decisions spooled but not yet acked by the control plane (a gauge: spool depth). */
  public long pendingDecisions() {
    return spool.pending();
  }

  /** Bytes the spool's files take on disk (a gauge). */
  public long spoolBytes() {
    return spool.usedBytes();
  }

  /** The highest seq the control plane has acked as durable in this process's lifetime. */
  public long durableThroughSeq() {
    return spool.ackedThrough();
  }

  /** Times the stream was reopened after breaking (a counter). */
  public long reconnects() {
    return sender.reconnects();
  }

  /** This replica's spool id, as sent in every batch and written to each audit record. */
  public String spoolId() {
    return spool.id();
  }

  /**
   * Stops sending, fsyncs the spool and closes it. Undelivered decisions stay on disk and are
   * delivered by the next start. Call after the gRPC server has drained, so no decision is
   * reported after close (such a one is counted as unrecorded).
   */
  @Override
  public void close() {
    sender.close();
    flusher.shutdown(); // not shutdownNow: never interrupt a thread in the middle of an fsync
    try {
      flusher.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    spool.close();
  }
}
