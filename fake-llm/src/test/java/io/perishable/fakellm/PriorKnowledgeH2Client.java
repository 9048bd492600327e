package io.perishable.fakellm;

import static java.nio.charset.StandardCharsets.UTF_8;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import io.netty.handler.codec.http2.Http2StreamFrameToHttpObjectCodec;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * An HTTP/2 client that starts with the connection preface on plain TCP, as Envoy does towards an
 * upstream configured for HTTP/2; {@code java.net.http} cannot speak h2c with prior knowledge.
 */
final class PriorKnowledgeH2Client implements AutoCloseable {

  /** One aggregated response; {@code headers} are lower-case names to first values. */
  record H2Response(int status, Map<String, String> headers, String body) {}

  private final EventLoopGroup group =
      new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
  private final Channel connection;

  PriorKnowledgeH2Client(int port) {
    connection =
        new Bootstrap()
            .group(group)
            .channel(NioSocketChannel.class)
            .handler(
                new ChannelInitializer<SocketChannel>() {
                  @Override
                  protected void initChannel(SocketChannel channel) {
                    channel
                        .pipeline()
                        .addLast(
                            Http2FrameCodecBuilder.forClient().build(),
                            // Server-initiated streams are never opened by the fake.
                            new Http2MultiplexHandler(new ChannelInboundHandlerAdapter()));
                  }
                })
            .connect("127.0.0.1", port)
            .syncUninterruptibly()
            .channel();
  }

  /** Sends a POST on a new stream and waits for the whole response. */
  H2Response post(String path, String body, String... headerNamesAndValues) throws Exception {
    ResponseCollector collector = new ResponseCollector();
    Http2StreamChannel stream =
        new Http2StreamChannelBootstrap(connection)
            .handler(
                new ChannelInitializer<Http2StreamChannel>() {
                  @Override
                  protected void initChannel(Http2StreamChannel channel) {
                    channel
                        .pipeline()
                        .addLast(
                            new Http2StreamFrameToHttpObjectCodec(false),
                            new HttpObjectAggregator(1 << 20),
                            collector);
                  }
                })
            .open()
            .syncUninterruptibly()
            .getNow();
    FullHttpRequest request =
        new DefaultFullHttpRequest(
            HttpVersion.HTTP_1_1, HttpMethod.POST, path, Unpooled.copiedBuffer(body, UTF_8));
    request.headers().set(HttpHeaderNames.HOST, "127.0.0.1");
    for (int i = 0; i < headerNamesAndValues.length; i += 2) {
      request.headers().add(headerNamesAndValues[i], headerNamesAndValues[i + 1]);
    }
    stream.writeAndFlush(request);
    return collector.response.get(10, TimeUnit.SECONDS);
  }

  /** Completes with the stream's aggregated response, copied out before Netty releases it. */
  private static final class ResponseCollector
      extends SimpleChannelInboundHandler<FullHttpResponse> {

    final CompletableFuture<H2Response> response = new CompletableFuture<>();

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpResponse full) {
      Map<String, String> headers = new TreeMap<>();
      full.headers().forEach(h -> headers.putIfAbsent(h.getKey(), h.getValue()));
      response.complete(
          new H2Response(full.status().code(), headers, full.content().toString(UTF_8)));
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      response.completeExceptionally(cause);
    }
  }

  @Override
  public void close() {
    connection.close().syncUninterruptibly();
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }
}
