package io.perishable.authz.report;

import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import io.perishable.proto.v1.DecisionReport;
import io.perishable.proto.v1.ReportAck;
import io.perishable.proto.v1.ReportBatch;
import io.perishable.proto.v1.ReportServiceGrpc;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An in-process ReportService that can be stopped and started again under the same name (the
 * "control plane down, then up" of the outage test). Counts how often each seq arrived, acks
 * every batch (or holds the acks back until told to release them), records each batch's size,
 * and can be told to break the next N streams after their first batch, unacked.
 */
final class FakeControlPlane implements AutoCloseable {
  private final String name = InProcessServerBuilder.generateName();
  private final ManagedChannel channel = InProcessChannelBuilder.forName(name).build();
  final Map<Long, AtomicInteger> received = new ConcurrentHashMap<>();
  final List<String> spoolIds = new CopyOnWriteArrayList<>();
  /** The last report received under each seq. */
  final Map<Long, DecisionReport> reports = new ConcurrentHashMap<>();
  final AtomicInteger streams = new AtomicInteger();
  final AtomicInteger breakNextStreams = new AtomicInteger();
  /** Decisions per batch, in arrival order. */
  final List<Integer> batchSizes = new CopyOnWriteArrayList<>();
  /** Acks not sent yet while {@link #holdAcks} is on, with the stream each belongs to. */
  private final List<Runnable> heldAcks = new ArrayList<>();
  private boolean holdAcks;
  private Server server;

  ManagedChannel channel() {
    return channel;
  }

  FakeControlPlane up() {
    try {
      server = InProcessServerBuilder.forName(name).directExecutor()
          .addService(new Service()).build().start();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return this;
  }

  void down() throws InterruptedException {
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  /** While on, acks wait; turning it off sends the held ones, in order. */
  synchronized void holdAcks(boolean on) {
    holdAcks = on;
    if (!on) {
      heldAcks.forEach(Runnable::run);
      heldAcks.clear();
    }
  }

  private synchronized void ack(Runnable send) {
    if (holdAcks) {
      heldAcks.add(send);
    } else {
      send.run();
    }
  }

  /** How many distinct seqs arrived. */
  int distinct() {
    return received.size();
  }

  int timesReceived(long seq) {
    AtomicInteger n = received.get(seq);
    return n == null ? 0 : n.get();
  }

  @Override
  public void close() {
    channel.shutdownNow();
    if (server != null) {
      server.shutdownNow();
    }
  }

  private final class Service extends ReportServiceGrpc.ReportServiceImplBase {
    @Override
    public StreamObserver<ReportBatch> report(StreamObserver<ReportAck> out) {
      streams.incrementAndGet();
      boolean breakThis = breakNextStreams.getAndUpdate(n -> Math.max(0, n - 1)) > 0;
      return new StreamObserver<>() {
        @Override
        public void onNext(ReportBatch batch) {
          spoolIds.add(batch.getSpoolId());
          batchSizes.add(batch.getDecisionsCount());
          for (DecisionReport d : batch.getDecisionsList()) {
            received.computeIfAbsent(d.getSeq(), s -> new AtomicInteger()).incrementAndGet();
            reports.put(d.getSeq(), d);
          }
          if (breakThis) {
            out.onError(Status.UNAVAILABLE.withDescription("test breaks this stream")
                .asRuntimeException());
            return;
          }
          long last = batch.getDecisions(batch.getDecisionsCount() - 1).getSeq();
          ack(() -> out.onNext(ReportAck.newBuilder().setDurableThroughSeq(last).build()));
        }

        @Override
        public void onError(Throwable t) {}

        @Override
        public void onCompleted() {
          out.onCompleted();
        }
      };
    }
  }
}
