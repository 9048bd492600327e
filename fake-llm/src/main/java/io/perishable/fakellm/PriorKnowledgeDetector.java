package io.perishable.fakellm;

import static java.nio.charset.StandardCharsets.US_ASCII;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;

/**
 * Looks at a new connection's first bytes and installs HTTP/2 if they are the client connection
 * preface (h2c with prior knowledge, as Envoy sends when an upstream cluster is configured for
 * HTTP/2), HTTP/1.1 otherwise; then steps aside, handing on every byte it buffered.
 */
final class PriorKnowledgeDetector extends ByteToMessageDecoder {

  private static final byte[] PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(US_ASCII);

  private final FakeLlmChannelInitializer pipelines;

  PriorKnowledgeDetector(FakeLlmChannelInitializer pipelines) {
    this.pipelines = pipelines;
  }

  @Override
  protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    int seen = Math.min(in.readableBytes(), PREFACE.length);
    for (int i = 0; i < seen; i++) {
      if (in.getByte(in.readerIndex() + i) != PREFACE[i]) {
        pipelines.addHttp1(ctx.pipeline());
        ctx.pipeline().remove(this);
        return;
      }
    }
    if (seen == PREFACE.length) {
      pipelines.addHttp2(ctx.pipeline());
      ctx.pipeline().remove(this);
    }
    // Otherwise a prefix of the preface so far: wait for more bytes.
  }
}
