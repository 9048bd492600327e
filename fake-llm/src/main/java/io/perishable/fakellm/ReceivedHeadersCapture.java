package io.perishable.fakellm;

import io.netty.channel.ChannelHandler.Sharable;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.util.AttributeKey;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Copies each request's header lines as they came off the wire, before they are rewritten: {@code
 * HttpObjectAggregator} drops {@code transfer-encoding: chunked} and adds a {@code content-length},
 * and the HTTP/2-to-HTTP/1 codec turns pseudo-headers into extension headers.
 *
 * <p>Sits just after the protocol codec (HTTP/1.1) or first in a stream's pipeline (HTTP/2); {@link
 * FakeLlmHandler} collects the copy when the aggregated request arrives. One slot per channel is
 * enough: an HTTP/1.1 connection finishes one request before the next one's headers are read, and
 * an HTTP/2 stream channel carries one request.
 */
@Sharable
final class ReceivedHeadersCapture extends ChannelInboundHandlerAdapter {

  static final AttributeKey<List<Map.Entry<String, String>>> RECEIVED_HEADERS =
      AttributeKey.valueOf(ReceivedHeadersCapture.class, "receivedHeaders");

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof HttpRequest request) {
      ctx.channel().attr(RECEIVED_HEADERS).set(copy(request.headers().iteratorAsString()));
    } else if (msg instanceof Http2HeadersFrame frame) {
      // The first HEADERS frame is the request; a later one would be trailers.
      ctx.channel().attr(RECEIVED_HEADERS).setIfAbsent(copy(frame.headers().iterator()));
    }
    ctx.fireChannelRead(msg);
  }

  /** The header lines in order with repeats kept; also the fallback when no copy exists. */
  static List<Map.Entry<String, String>> copy(
      Iterator<? extends Map.Entry<? extends CharSequence, ? extends CharSequence>> lines) {
    List<Map.Entry<String, String>> headers = new ArrayList<>();
    while (lines.hasNext()) {
      Map.Entry<? extends CharSequence, ? extends CharSequence> line = lines.next();
      headers.add(Map.entry(line.getKey().toString(), line.getValue().toString()));
    }
    return headers;
  }
}
