package io.perishable.fakellm;

import static java.nio.charset.StandardCharsets.UTF_8;

import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler.Sharable;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import java.util.List;
import java.util.Map;

/**
 * Transport glue: records each aggregated request, asks {@link FakeLlmRouter} for the {@link
 * Reply}, and writes it out with an {@value #REQUEST_ID_HEADER} header.
 *
 * <p>An event stream goes out with chunked transfer encoding, one HTTP chunk per SSE frame, each
 * flushed on its own so a client sees separate reads, as with a real provider. On an HTTP/2 stream
 * the same objects become HEADERS and DATA frames, and connection headers are dropped.
 */
@Sharable
final class FakeLlmHandler extends SimpleChannelInboundHandler<FullHttpRequest> {

  /** Response header naming the request's journal id, so tests can correlate both sides. */
  static final String REQUEST_ID_HEADER = "x-fake-llm-request-id";

  /**
   * Request header: send only this many SSE frames of a stream, then drop the connection, as an
   * upstream failing mid-stream does (for tests of cut streams).
   */
  static final String CUT_AFTER_HEADER = "x-fake-llm-cut-after-frames";

  /**
   * Request header: record the request now, but answer it only once the test releases the hold
   * of this name ({@link FakeLlmUpstream#release(String)}), to keep it in flight meanwhile.
   */
  static final String HOLD_HEADER = "x-fake-llm-hold";

  private final RequestJournal journal;
  private final FakeLlmRouter router;
  private final ResponseHolds holds;

  FakeLlmHandler(RequestJournal journal, FakeLlmRouter router, ResponseHolds holds) {
    this.journal = journal;
    this.router = router;
    this.holds = holds;
  }

  @Override
  protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
    List<Map.Entry<String, String>> headers =
        ctx.channel().attr(ReceivedHeadersCapture.RECEIVED_HEADERS).getAndSet(null);
    if (headers == null) {
      headers = ReceivedHeadersCapture.copy(request.headers().iteratorAsString());
    }
    RecordedRequest recorded =
        new RecordedRequest(
            request.method().name(),
            request.uri(),
            headers,
            ByteBufUtil.getBytes(request.content()));
    long id = journal.record(recorded);

    boolean wellFormed = request.decoderResult().isSuccess();
    Reply reply =
        wellFormed
            ? router.route(recorded, id)
            : OpenAiApi.error(
                400,
                "Malformed HTTP request: " + request.decoderResult().cause(),
                "invalid_request_error",
                null,
                null);
    // After a framing error the rest of the connection cannot be trusted.
    boolean keepAlive = wellFormed && HttpUtil.isKeepAlive(request);
    HttpVersion version = request.protocolVersion();
    String cutAfter = request.headers().get(CUT_AFTER_HEADER);
    Runnable answer = () -> {
      if (reply instanceof Reply.Json json) {
        writeJson(ctx, json, id, version, keepAlive);
      } else if (reply instanceof Reply.EventStream stream) {
        if (cutAfter != null) {
          writeCutEventStream(ctx, stream, id, Integer.parseInt(cutAfter.strip()));
        } else {
          writeEventStream(ctx, stream, id, version, keepAlive);
        }
      }
    };
    String hold = request.headers().get(HOLD_HEADER);
    if (hold == null) {
      answer.run();
    } else {
      holds.gate(hold.strip()).thenRun(() -> ctx.executor().execute(answer));
    }
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    // Typically a client that went away mid-stream; nothing useful to answer.
    ctx.close();
  }

  private void writeJson(
      ChannelHandlerContext ctx,
      Reply.Json json,
      long id,
      HttpVersion requestVersion,
      boolean keepAlive) {
    byte[] bytes = json.body().toString().getBytes(UTF_8);
    journal.sent(id, bytes);
    FullHttpResponse response =
        new DefaultFullHttpResponse(
            HttpVersion.HTTP_1_1,
            HttpResponseStatus.valueOf(json.status()),
            Unpooled.wrappedBuffer(bytes));
    response
        .headers()
        .set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON)
        .setInt(HttpHeaderNames.CONTENT_LENGTH, bytes.length)
        .set(REQUEST_ID_HEADER, id);
    setConnection(response, requestVersion, keepAlive);
    closeUnlessKeptAlive(ctx.writeAndFlush(response), keepAlive);
  }

  private void writeEventStream(
      ChannelHandlerContext ctx,
      Reply.EventStream stream,
      long id,
      HttpVersion requestVersion,
      boolean keepAlive) {
    HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
    head.headers()
        .set(HttpHeaderNames.CONTENT_TYPE, "text/event-stream")
        .set(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.NO_CACHE)
        .set(REQUEST_ID_HEADER, id);
    // HTTP/1.0 has no chunked encoding: stream raw and mark the end by closing.
    boolean chunked = !HttpVersion.HTTP_1_0.equals(requestVersion);
    if (chunked) {
      HttpUtil.setTransferEncodingChunked(head, true);
    }
    boolean reuse = keepAlive && chunked;
    setConnection(head, requestVersion, reuse);
    ctx.writeAndFlush(head);
    for (String frame : stream.frames()) {
      journal.sent(id, frame.getBytes(UTF_8));
      ctx.writeAndFlush(new DefaultHttpContent(Unpooled.copiedBuffer(frame, UTF_8)));
    }
    closeUnlessKeptAlive(ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT), reuse);
  }

  /** The head and the first {@code frames} frames of a stream, then the connection drops. */
  private void writeCutEventStream(
      ChannelHandlerContext ctx, Reply.EventStream stream, long id, int frames) {
    HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
    head.headers()
        .set(HttpHeaderNames.CONTENT_TYPE, "text/event-stream")
        .set(REQUEST_ID_HEADER, id);
    HttpUtil.setTransferEncodingChunked(head, true);
    ctx.writeAndFlush(head);
    List<String> all = stream.frames();
    for (int i = 0; i < Math.min(frames, all.size()); i++) {
      journal.sent(id, all.get(i).getBytes(UTF_8));
      ctx.writeAndFlush(new DefaultHttpContent(Unpooled.copiedBuffer(all.get(i), UTF_8)));
    }
    ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
  }

  private static void setConnection(
      HttpResponse response, HttpVersion requestVersion, boolean keepAlive) {
    if (!keepAlive) {
      response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
    } else if (!requestVersion.isKeepAliveDefault()) {
      response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
    }
  }

  private static void closeUnlessKeptAlive(ChannelFuture lastWrite, boolean keepAlive) {
    if (!keepAlive) {
      lastWrite.addListener(ChannelFutureListener.CLOSE);
    }
  }
}
