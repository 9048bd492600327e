package io.perishable.authz.envoy;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.service.ext_proc.v3.BodyResponse;
import io.envoyproxy.envoy.service.ext_proc.v3.ExternalProcessorGrpc;
import io.envoyproxy.envoy.service.ext_proc.v3.HeadersResponse;
import io.envoyproxy.envoy.service.ext_proc.v3.HttpHeaders;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingRequest;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingResponse;
import io.envoyproxy.envoy.service.ext_proc.v3.TrailersResponse;
import io.grpc.stub.StreamObserver;
import io.perishable.authz.budget.ResponseMeter;
import io.perishable.authz.budget.UsageListener;
import io.perishable.authz.decision.DecisionEngine;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Envoy's external processing filter ({@code envoy.service.ext_proc.v3.ExternalProcessor}): one
 * stream per forwarded request, carrying the request headers (with the ext_authz decision's
 * metadata), then the upstream's response headers and body chunks, which a {@link
 * ResponseMeter} reads for the usage the provider reports. Nothing is modified: in observability
 * mode Envoy does not wait for answers; otherwise every message is answered with "continue".
 *
 * <p>Metering never fails a response: a broken message is logged and the stream carries on.
 *
 * <p>Once the response has ended (and been metered), this side closes the stream at once. In
 * observability mode Envoy otherwise keeps each stream open for its {@code
 * deferred_close_timeout} (5 s) after the request is done; at a few thousand requests per
 * second those idle streams fill the {@code perishable_authz} cluster's concurrent-request
 * limit, which ext_authz's Checks share, and Checks fail ({@code 503 authz_unavailable}).
 */
public final class UsageMeterEndpoint extends ExternalProcessorGrpc.ExternalProcessorImplBase {
  private static final Logger LOG = Logger.getLogger(UsageMeterEndpoint.class.getName());
  /** The ext_authz filter's dynamic metadata namespace, forwarded to ext_proc by Envoy. */
  static final String EXT_AUTHZ_NAMESPACE = "envoy.filters.http.ext_authz";

  private final UsageListener listener;
  private final int maxEventBytes;

  public UsageMeterEndpoint(UsageListener listener, int maxEventBytes) {
    this.listener = listener;
    this.maxEventBytes = maxEventBytes;
  }

  @Override
  public StreamObserver<ProcessingRequest> process(
      StreamObserver<ProcessingResponse> responses) {
    ResponseMeter meter = new ResponseMeter(listener, maxEventBytes);
    return new StreamObserver<>() {
      private boolean closed;

      @Override
      public void onNext(ProcessingRequest request) {
        if (closed) {
          return;
        }
        try {
          meter(request);
        } catch (RuntimeException e) {
          LOG.log(Level.WARNING, "metering failed for one message; carrying on", e);
        }
        if (!request.getObservabilityMode()) {
          responses.onNext(carryOn(request));
        }
        if (meter.finished()) {
          closed = true;
          responses.onCompleted();
        }
      }

      private void meter(ProcessingRequest request) {
        switch (request.getRequestCase()) {
          case REQUEST_HEADERS -> {
            HttpHeaders headers = request.getRequestHeaders();
            Struct authz = request.getMetadataContext().getFilterMetadataMap()
                .getOrDefault(EXT_AUTHZ_NAMESPACE, Struct.getDefaultInstance());
            meter.request(header(headers, "x-request-id"),
                authz.getFieldsOrDefault("token_id", Value.getDefaultInstance()).getStringValue(),
                header(headers, DecisionEngine.ROUTE_HEADER));
          }
          case RESPONSE_HEADERS -> {
            HttpHeaders headers = request.getResponseHeaders();
            int status;
            try {
              status = Integer.parseInt(header(headers, ":status"));
            } catch (NumberFormatException e) {
              status = 0;
            }
            meter.responseHeaders(status, header(headers, "content-type"),
                headers.getEndOfStream());
          }
          case RESPONSE_BODY -> meter.responseBody(
              request.getResponseBody().getBody().toByteArray(),
              request.getResponseBody().getEndOfStream());
          case RESPONSE_TRAILERS -> meter.responseBody(new byte[0], true);
          default -> { }
        }
      }

      @Override
      public void onError(Throwable t) {
        meter.cut();
      }

      @Override
      public void onCompleted() {
        meter.cut();
        if (!closed) {
          closed = true;
          responses.onCompleted();
        }
      }
    };
  }

  private static ProcessingResponse carryOn(ProcessingRequest request) {
    ProcessingResponse.Builder response = ProcessingResponse.newBuilder();
    switch (request.getRequestCase()) {
      case REQUEST_HEADERS -> response.setRequestHeaders(HeadersResponse.getDefaultInstance());
      case RESPONSE_HEADERS -> response.setResponseHeaders(HeadersResponse.getDefaultInstance());
      case REQUEST_BODY -> response.setRequestBody(BodyResponse.getDefaultInstance());
      case RESPONSE_BODY -> response.setResponseBody(BodyResponse.getDefaultInstance());
      case REQUEST_TRAILERS -> response.setRequestTrailers(TrailersResponse.getDefaultInstance());
      case RESPONSE_TRAILERS ->
          response.setResponseTrailers(TrailersResponse.getDefaultInstance());
      default -> { }
    }
    return response.build();
  }

  /** A header's value; Envoy sends either {@code value} or {@code raw_value}. */
  private static String header(HttpHeaders headers, String name) {
    for (HeaderValue h : headers.getHeaders().getHeadersList()) {
      if (h.getKey().equalsIgnoreCase(name)) {
        return h.getValue().isEmpty() ? h.getRawValue().toStringUtf8() : h.getValue();
      }
    }
    return "";
  }
}
