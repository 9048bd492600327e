package io.perishable.authz.budget;

import java.util.Optional;

/**
 * Meters one response as Envoy's external processing filter passes it on: the request's ids
 * first, then the response headers, then body chunks. Reports to the {@link UsageListener}
 * exactly once: when the body ends, when the response ends with its headers (no body), or,
 * failing both, when the stream is cut ({@link #cut()}). A response whose request never passed
 * the filter (Envoy's own local replies, such as an ext_authz denial) is not reported: nothing
 * was forwarded, so nothing was spent.
 *
 * <p>Not thread-safe: one meter per ext_proc stream, fed in order.
 */
public final class ResponseMeter {
  private final UsageListener listener;
  private final int maxEventBytes;
  private String requestId = "";
  private String tokenId = "";
  private String upstream = "";
  private int status;
  private ResponseUsageReader reader;
  private boolean forwarded;
  private boolean reported;

  /** @param maxEventBytes longest server-sent event read for usage */
  public ResponseMeter(UsageListener listener, int maxEventBytes) {
    this.listener = listener;
    this.maxEventBytes = maxEventBytes;
  }

  /** The request as it left Envoy's filter chain toward the upstream. */
  public void request(String requestId, String tokenId, String upstream) {
    this.requestId = requestId;
    this.tokenId = tokenId;
    this.upstream = upstream;
    this.forwarded = true;
  }

  /**
   * The upstream's response headers.
   *
   * @param endOfStream the response has no body
   */
  public void responseHeaders(int status, String contentType, boolean endOfStream) {
    this.status = status;
    this.reader = ResponseUsageReader.forContentType(contentType, maxEventBytes);
    if (endOfStream) {
      report(true);
    }
  }

  /** The next chunk of the response body. */
  public void responseBody(byte[] chunk, boolean endOfStream) {
    if (reported) {
      return;
    }
    if (reader == null) {
      reader = ResponseUsageReader.forContentType("", maxEventBytes);
    }
    reader.accept(chunk, 0, chunk.length);
    if (endOfStream) {
      report(true);
    }
  }

  /** True once the response has been reported: nothing later can change what was metered. */
  public boolean finished() {
    return reported;
  }

  /** The stream ended before the response did (client gone, upstream reset, Envoy closing). */
  public void cut() {
    report(false);
  }

  private void report(boolean complete) {
    if (reported || !forwarded) {
      return;
    }
    reported = true;
    if (reader == null) {
      reader = ResponseUsageReader.forContentType("", maxEventBytes);
    }
    Optional<ReportedUsage> usage = complete ? reader.finish() : Optional.empty();
    listener.metered(new MeteredResponse(requestId, tokenId, upstream, status, complete, usage,
        reader.completionHash()));
  }
}
