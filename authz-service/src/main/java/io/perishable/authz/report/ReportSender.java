package io.perishable.authz.report;

import io.grpc.Channel;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.perishable.proto.v1.ReportAck;
import io.perishable.proto.v1.ReportBatch;
import io.perishable.proto.v1.ReportServiceGrpc;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The one thread that streams the spool to {@code ReportService.Report}: reads batches from the
 * spool in seq order, keeps at most {@link ReportConfig#maxInFlightBatches()} unacked, and on
 * each ack tells the spool (which deletes what is wholly acked). When the stream breaks it waits
 * (capped exponential backoff, reset by the next ack), reconnects and resends from the oldest
 * unacked decision; the control plane de-duplicates what it already has.
 *
 * <p><b>Batching.</b> With nothing in flight, what the spool holds goes out at once. With a
 * batch in flight, the sender sends only full batches ({@link ReportConfig#maxBatchDecisions()})
 * and otherwise waits for the ack, then sends everything that accumulated meanwhile as one
 * batch: the control plane fsyncs its audit log once per batch, so under load each fsync covers
 * all the decisions of one round trip instead of a handful (group commit). A decision waits at
 * most one ack round trip longer to leave; it is in the spool all along.
 *
 * <p>All state belongs to the sender thread. gRPC callbacks only queue an event and wake it, so
 * nothing here needs a lock, and the stream's {@code onNext} is only ever called by one thread.
 */
final class ReportSender implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(ReportSender.class.getName());
  /** Wake at least this often even without a signal: a safety net, not the mechanism. */
  private static final long IDLE_PARK_NANOS = TimeUnit.MILLISECONDS.toNanos(200);
  private static final long NOT_WAITING = Long.MAX_VALUE;

  /** Something a gRPC callback saw, for the sender thread to act on. */
  private record Event(long stream, long ackedThrough, Status broken) {}

  private final Spool spool;
  private final Channel channel;
  private final ReportServiceGrpc.ReportServiceStub stub;
  private final String replicaId;
  private final int maxBatch;
  private final int maxInFlight;
  private final long minBackoffNanos;
  private final long maxBackoffNanos;
  private final ConcurrentLinkedQueue<Event> events = new ConcurrentLinkedQueue<>();
  private final Thread thread;
  private final AtomicLong reconnects = new AtomicLong();
  /**
   * While the sender parks for lack of decisions to send: the seq whose append wakes it (the
   * next one with nothing in flight, the one that fills a batch otherwise). {@link #NOT_WAITING}
   * the rest of the time, so an append usually costs a single volatile read here.
   */
  private volatile long wakeAtSeq = NOT_WAITING;
  private volatile boolean closed;

  // Sender-thread state.
  private long streamNo;
  private ClientCallStreamObserver<ReportBatch> stream;
  private final ArrayDeque<Long> inFlight = new ArrayDeque<>();
  private Spool.Cursor cursor;
  private long backoffNanos;
  private long nextAttemptNanos;
  private boolean outageLogged;

  ReportSender(Spool spool, Channel channel, ReportConfig config) {
    this.spool = spool;
    this.channel = channel;
    this.stub = ReportServiceGrpc.newStub(channel);
    this.replicaId = config.replicaId();
    this.maxBatch = config.maxBatchDecisions();
    this.maxInFlight = config.maxInFlightBatches();
    this.minBackoffNanos = config.minBackoff().toNanos();
    this.maxBackoffNanos = config.maxBackoff().toNanos();
    this.backoffNanos = minBackoffNanos;
    this.thread = new Thread(this::run, "report-sender");
    this.thread.setDaemon(true);
  }

  void start() {
    nextAttemptNanos = System.nanoTime();
    thread.start();
  }

  /**
   * Called after each spool append, from any thread. Usually a single volatile read: the
   * sender is only woken (a futex syscall) when it is parked waiting for this many decisions.
   */
  void wake() {
    long at = wakeAtSeq;
    if (at != NOT_WAITING && spool.lastSeq() >= at) {
      wakeAtSeq = NOT_WAITING;
      LockSupport.unpark(thread);
    }
  }

  /**
   * Whether to send another batch now: never beyond {@code maxInFlight} unacked batches; with
   * none in flight, as soon as anything is unsent; with some in flight, only a full batch (the
   * rest waits for an ack and goes out together).
   *
   * @param unsent decisions appended and not yet sent (an over-estimate is harmless)
   */
  static boolean sendNow(int inFlight, long unsent, int maxInFlight, int maxBatch) {
    if (unsent <= 0 || inFlight >= maxInFlight) {
      return false;
    }
    return inFlight == 0 || unsent >= maxBatch;
  }

  /** Streams opened after the first (each one a reconnect after a break). */
  long reconnects() {
    return reconnects.get();
  }

  private void run() {
    while (!closed) {
      try {
        drainEvents();
        if (stream == null) {
          long wait = nextAttemptNanos - System.nanoTime();
          if (wait > 0) {
            LockSupport.parkNanos(this, wait);
            continue;
          }
          open();
        }
        boolean sent = sendWhileRoom();
        if (!sent) {
          waitForWork();
        }
      } catch (IOException | RuntimeException e) {
        // A spool read failed, or the stream refused a message: start over after a pause.
        LOG.log(Level.WARNING, "report sender: " + e, e);
        broken(Status.fromThrowable(e));
      }
    }
    ClientCallStreamObserver<ReportBatch> s = stream;
    if (s != null) {
      s.cancel("replica shutting down", null);
    }
  }

  private void waitForWork() {
    if (stream == null) {
      return; // broke while sending: run() waits out the backoff
    }
    if (inFlight.size() >= maxInFlight) {
      // Waiting for acks: gRPC callbacks unpark us.
      LockSupport.parkNanos(this, IDLE_PARK_NANOS);
      return;
    }
    // Announce what wakes us, then look again: an append after the look sees it and unparks
    // us (the permit makes the park return at once), so no wake-up is lost. With batches in
    // flight, their ack wakes us (signal) unless a full batch is ready first.
    long at = cursor.nextSeq() + (inFlight.isEmpty() ? 0 : maxBatch - 1);
    wakeAtSeq = at;
    if (spool.lastSeq() < at && events.isEmpty() && !closed) {
      LockSupport.parkNanos(this, IDLE_PARK_NANOS);
    }
    wakeAtSeq = NOT_WAITING;
  }

  private void open() {
    long no = ++streamNo;
    if (no > 1) {
      reconnects.incrementAndGet();
      if (channel instanceof ManagedChannel managed) {
        // The channel keeps its own reconnect backoff (up to 2 minutes by default): without
        // this, our capped backoff would not decide when a returning control plane is tried.
        managed.resetConnectBackoff();
      }
    }
    inFlight.clear();
    cursor = spool.cursorAfterAck();
    stub.report(new ClientResponseObserver<ReportBatch, ReportAck>() {
      @Override
      public void beforeStart(ClientCallStreamObserver<ReportBatch> requests) {
        stream = requests;
      }

      @Override
      public void onNext(ReportAck ack) {
        signal(new Event(no, ack.getDurableThroughSeq(), null));
      }

      @Override
      public void onError(Throwable t) {
        signal(new Event(no, 0, Status.fromThrowable(t)));
      }

      @Override
      public void onCompleted() {
        signal(new Event(no, 0,
            Status.UNAVAILABLE.withDescription("control plane ended the report stream")));
      }
    });
  }

  private void signal(Event e) {
    events.add(e);
    LockSupport.unpark(thread);
  }

  private void drainEvents() {
    Event e;
    while ((e = events.poll()) != null) {
      if (e.stream() != streamNo || stream == null) {
        continue; // about a stream already given up
      }
      if (e.broken() != null) {
        broken(e.broken());
        continue;
      }
      spool.ack(e.ackedThrough());
      while (!inFlight.isEmpty() && inFlight.peekFirst() <= e.ackedThrough()) {
        inFlight.pollFirst();
      }
      backoffNanos = minBackoffNanos;
      if (outageLogged) {
        outageLogged = false;
        LOG.info(() -> "report stream to control plane is back; " + spool.pending()
            + " decision(s) still to deliver");
      }
    }
  }

  /** Sends batches while the window has room and the spool has entries; true if it sent any. */
  private boolean sendWhileRoom() throws IOException {
    boolean sent = false;
    while (stream != null && sendNow(inFlight.size(), spool.lastSeq() - cursor.nextSeq() + 1,
        maxInFlight, maxBatch)) {
      Spool.Batch batch = spool.read(cursor, maxBatch);
      if (batch.isEmpty()) {
        // Only acked decisions (after a reconnect): step past them, or sendNow would keep
        // counting them as unsent.
        cursor = batch.next();
        break;
      }
      stream.onNext(ReportBatch.newBuilder()
          .setReplicaId(replicaId)
          .setSpoolId(spool.id())
          .addAllDecisions(batch.reports())
          .build());
      inFlight.addLast(batch.lastSeq());
      cursor = batch.next();
      sent = true;
      drainEvents();
    }
    return sent;
  }

  private void broken(Status why) {
    ClientCallStreamObserver<ReportBatch> s = stream;
    stream = null;
    inFlight.clear();
    if (s != null) {
      s.cancel("restarting the report stream", null);
    }
    long delay = backoffNanos;
    backoffNanos = Math.min(backoffNanos * 2, maxBackoffNanos);
    nextAttemptNanos = System.nanoTime() + delay;
    Level level = outageLogged ? Level.FINE : Level.WARNING;
    outageLogged = true;
    LOG.log(level, () -> "report stream to control plane broke (" + why.getCode() + " "
        + why.getDescription() + "); " + spool.pending() + " decision(s) spooled; retrying in "
        + TimeUnit.NANOSECONDS.toMillis(delay) + "ms");
  }

  /** Stops the thread and cancels the stream; what is spooled stays for the next start. */
  @Override
  public void close() {
    closed = true;
    LockSupport.unpark(thread);
    try {
      thread.join(TimeUnit.SECONDS.toMillis(5));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
