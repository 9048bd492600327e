package io.perishable.fakellm;

import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamFrameToHttpObjectCodec;

/**
 * Builds each accepted connection's pipeline: HTTP/1.1, or h2c with prior knowledge where every
 * HTTP/2 stream gets a pipeline that ends in the same HTTP/1-style handlers.
 */
final class FakeLlmChannelInitializer extends ChannelInitializer<SocketChannel> {

  /** Largest request body accepted; bigger ones get the aggregator's 413 and are not recorded. */
  static final int MAX_BODY_BYTES = 64 * 1024 * 1024;

  private final ReceivedHeadersCapture headersCapture = new ReceivedHeadersCapture();
  private final FakeLlmHandler handler;

  FakeLlmChannelInitializer(FakeLlmHandler handler) {
    this.handler = handler;
  }

  @Override
  protected void initChannel(SocketChannel channel) {
    channel.pipeline().addLast("detect-protocol", new PriorKnowledgeDetector(this));
  }

  void addHttp1(ChannelPipeline pipeline) {
    pipeline.addLast("http", new HttpServerCodec());
    // Before the aggregator, which rewrites framing headers.
    pipeline.addLast("capture-headers", headersCapture);
    pipeline.addLast("aggregate", new HttpObjectAggregator(MAX_BODY_BYTES));
    pipeline.addLast("fake-llm", handler);
  }

  void addHttp2(ChannelPipeline pipeline) {
    pipeline.addLast("http2", Http2FrameCodecBuilder.forServer().build());
    pipeline.addLast(
        "streams",
        new Http2MultiplexHandler(
            new ChannelInitializer<Http2StreamChannel>() {
              @Override
              protected void initChannel(Http2StreamChannel stream) {
                ChannelPipeline streamPipeline = stream.pipeline();
                // Before the codec, so the HEADERS frame is recorded, pseudo-headers included.
                streamPipeline.addLast("capture-headers", headersCapture);
                streamPipeline.addLast("http", new Http2StreamFrameToHttpObjectCodec(true));
                streamPipeline.addLast("aggregate", new HttpObjectAggregator(MAX_BODY_BYTES));
                streamPipeline.addLast("fake-llm", handler);
              }
            }));
  }
}
