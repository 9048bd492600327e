package io.perishable.controlplane.accesslog;

import io.envoyproxy.envoy.data.accesslog.v3.HTTPAccessLogEntry;
import io.envoyproxy.envoy.service.accesslog.v3.AccessLogServiceGrpc;
import io.envoyproxy.envoy.service.accesslog.v3.StreamAccessLogsMessage;
import io.envoyproxy.envoy.service.accesslog.v3.StreamAccessLogsResponse;
import io.grpc.stub.StreamObserver;
import io.perishable.controlplane.audit.AuditLog;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Receives Envoy's access-log stream and appends a RESPONSE record per forwarded request.
 * Envoy's access-log stream has no acknowledgements, so delivery from Envoy is at most once:
 * a record lost in transit is counted by Envoy's own stats, not here. Appends are not awaited
 * on the stream's thread; failures are logged and counted.
 */
public final class AccessLogEndpoint extends AccessLogServiceGrpc.AccessLogServiceImplBase {
  private static final Logger LOG = Logger.getLogger(AccessLogEndpoint.class.getName());

  private final AuditLog log;
  private final AtomicLong appended = new AtomicLong();
  private final AtomicLong failed = new AtomicLong();

  public AccessLogEndpoint(AuditLog log) {
    this.log = log;
  }

  /** RESPONSE records appended durably so far. */
  public long appended() {
    return appended.get();
  }

  /** RESPONSE records whose append failed. */
  public long failed() {
    return failed.get();
  }

  @Override
  public StreamObserver<StreamAccessLogsMessage> streamAccessLogs(
      StreamObserver<StreamAccessLogsResponse> responses) {
    return new StreamObserver<>() {
      private String node = "";

      @Override
      public void onNext(StreamAccessLogsMessage message) {
        if (message.hasIdentifier()) {
          node = message.getIdentifier().getNode().getId();
        }
        for (HTTPAccessLogEntry entry : message.getHttpLogs().getLogEntryList()) {
          ResponseRecords.from(entry, node).ifPresent(record ->
              log.append(record).whenComplete((done, error) -> {
                if (error == null) {
                  appended.incrementAndGet();
                } else {
                  failed.incrementAndGet();
                  LOG.log(Level.WARNING, "RESPONSE record for request "
                      + entry.getRequest().getRequestId() + " not recorded", error);
                }
              }));
        }
      }

      @Override
      public void onError(Throwable t) {
        // Envoy reconnects on its own; nothing to clean up.
      }

      @Override
      public void onCompleted() {
        responses.onNext(StreamAccessLogsResponse.getDefaultInstance());
        responses.onCompleted();
      }
    };
  }
}
