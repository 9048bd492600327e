package io.perishable.fakellm;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A fake OpenAI- and Anthropic-compatible provider on {@code 127.0.0.1} that records every request
 * it receives, so a test can prove which credential reached the provider side.
 *
 * <h2>Endpoints</h2>
 *
 * <ul>
 *   <li>{@code POST /v1/chat/completions}, {@code POST /v1/completions}: OpenAI shapes, streamed as
 *       SSE when the body says {@code "stream": true}, with a usage chunk when {@code
 *       stream_options.include_usage} is true, ending in {@code data: [DONE]}.
 *   <li>{@code POST /v1/embeddings}: one {@code [0.1, 0.2, 0.3]} vector per input element.
 *   <li>{@code GET /v1/models}: a short fixed list.
 *   <li>{@code POST /v1/messages}: Anthropic's Messages API, including its named-event stream.
 *   <li>anything else: 404 in OpenAI's error shape.
 * </ul>
 *
 * <p>The model always answers {@code "Hello from fake-llm."}: five tokens, cut short by {@code
 * max_tokens} (or {@code max_completion_tokens}) when smaller. {@code prompt_tokens} and {@code
 * input_tokens} are a quarter of the request body's bytes, at least one. Every response carries
 * {@code x-fake-llm-request-id: <n>}, where {@code n} counts requests from 1 since start.
 *
 * <h2>Credentials</h2>
 *
 * <p>OpenAI endpoints require exactly one {@code authorization: Bearer <expectedOpenAiKey>}; {@code
 * /v1/messages} requires exactly one {@code x-api-key: <expectedAnthropicKey>} and an {@code
 * anthropic-version} header. A wrong, missing or repeated credential is answered with 401 in the
 * provider's own error shape. A null expected key accepts any credential, or none. Requests are
 * recorded whatever the outcome, so a denied request can still be inspected.
 *
 * <h2>Typical use</h2>
 *
 * <pre>{@code
 * try (FakeLlmUpstream upstream = FakeLlmUpstream.start(0, "sk-real", null)) {
 *   // point Envoy's cluster at 127.0.0.1:upstream.port(), then send a request with a prs_ token
 *   RecordedRequest seen = upstream.lastRequest();
 *   assertEquals(Optional.of("Bearer sk-real"), seen.header("authorization"));
 *   assertFalse(seen.contains("prs_"));
 * }
 * }</pre>
 *
 * <h2>Transport</h2>
 *
 * <p>HTTP/1.1 with keep-alive and chunked request bodies, and h2c with prior knowledge (what Envoy
 * sends to an upstream cluster configured for HTTP/2) on the same port. Streams go out one SSE
 * event per HTTP chunk (or DATA frame), each flushed on its own. Bodies over 64 MiB are refused
 * with 413 and not recorded. All methods are thread-safe.
 */
public final class FakeLlmUpstream implements AutoCloseable {

  private static final String HOST = "127.0.0.1";

  private final EventLoopGroup group;
  private final Channel serverChannel;
  private final RequestJournal journal;
  private final ResponseHolds holds;
  private final AtomicBoolean closed = new AtomicBoolean();

  private FakeLlmUpstream(EventLoopGroup group, Channel serverChannel, RequestJournal journal,
      ResponseHolds holds) {
    this.group = group;
    this.serverChannel = serverChannel;
    this.journal = journal;
    this.holds = holds;
  }

  /**
   * Starts a server on {@code 127.0.0.1:port}.
   *
   * @param port the port to bind, or 0 for an ephemeral one (read it back with {@link #port()})
   * @param expectedOpenAiKey the key OpenAI endpoints require as a bearer token; null accepts any
   * @param expectedAnthropicKey the key {@code /v1/messages} requires as {@code x-api-key}; null
   *     accepts any
   * @return the running server; close it to stop it
   * @throws IllegalArgumentException if the port is outside 0..65535
   * @throws IllegalStateException if the port cannot be bound
   */
  public static FakeLlmUpstream start(
      int port, String expectedOpenAiKey, String expectedAnthropicKey) {
    return start(port, expectedOpenAiKey, expectedAnthropicKey, Clock.systemUTC());
  }

  /** As {@link #start(int, String, String)}, with the clock behind OpenAI's {@code created}. */
  static FakeLlmUpstream start(
      int port, String expectedOpenAiKey, String expectedAnthropicKey, Clock clock) {
    if (port < 0 || port > 65_535) {
      throw new IllegalArgumentException("port must be between 0 and 65535, was " + port);
    }
    RequestJournal journal = new RequestJournal();
    ResponseHolds holds = new ResponseHolds();
    FakeLlmRouter router = new FakeLlmRouter(expectedOpenAiKey, expectedAnthropicKey, clock);
    // Daemon threads: a test that forgets close() must not keep the JVM alive.
    EventLoopGroup group =
        new MultiThreadIoEventLoopGroup(
            0, new DefaultThreadFactory("fake-llm", true), NioIoHandler.newFactory());
    try {
      Channel serverChannel =
          new ServerBootstrap()
              .group(group)
              .channel(NioServerSocketChannel.class)
              .option(ChannelOption.SO_REUSEADDR, true)
              // SSE frames must leave one by one, not wait for Nagle.
              .childOption(ChannelOption.TCP_NODELAY, true)
              .childHandler(new FakeLlmChannelInitializer(
                  new FakeLlmHandler(journal, router, holds)))
              .bind(new InetSocketAddress(HOST, port))
              .syncUninterruptibly()
              .channel();
      return new FakeLlmUpstream(group, serverChannel, journal, holds);
    } catch (Exception e) {
      group.shutdownGracefully(0, 0, TimeUnit.SECONDS);
      throw new IllegalStateException("fake-llm could not listen on " + HOST + ":" + port, e);
    }
  }

  /** Returns the bound port, the real one when started with port 0. */
  public int port() {
    return ((InetSocketAddress) serverChannel.localAddress()).getPort();
  }

  /**
   * Returns every request received since start or the last {@link #clear()}, in arrival order.
   *
   * @return an immutable snapshot; later requests do not change it
   */
  public List<RecordedRequest> requests() {
    return journal.snapshot();
  }

  /**
   * Returns the most recently received request.
   *
   * @throws IllegalStateException if nothing arrived since start or the last {@link #clear()}
   */
  public RecordedRequest lastRequest() {
    return journal.last();
  }

  /**
   * The response body bytes the fake wrote for a request, exactly (a stream's frames as sent,
   * only those sent before a cut), so a test can compare what passed Envoy with what left here.
   *
   * @param requestId the id in the response's {@code x-fake-llm-request-id} header
   * @return empty if no body was written for that id (or it was cleared)
   */
  public Optional<byte[]> responseBody(long requestId) {
    return journal.sentBody(requestId);
  }

  /**
   * Answers every request held under {@code hold} (sent with an {@code x-fake-llm-hold: hold}
   * header, recorded on arrival but not answered), and answers later ones naming it at once.
   */
  public void release(String hold) {
    holds.release(hold);
  }

  /** Forgets all recorded requests; request ids keep counting so they stay unique. */
  public void clear() {
    journal.clear();
  }

  /**
   * Stops listening, drops open connections and releases the event loop threads, without a quiet
   * period. Recorded requests stay readable. Calling it again does nothing.
   */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    holds.releaseAll();
    serverChannel.close().syncUninterruptibly();
    group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
  }

  /**
   * Runs the fake upstream until the process is stopped, for the developer stack.
   *
   * <p>Arguments: {@code --port N} (default 0), {@code --openai-key K}, {@code --anthropic-key K};
   * keys may instead come from {@code FAKE_OPENAI_KEY} and {@code FAKE_ANTHROPIC_KEY}, and an unset
   * or blank key accepts any credential. Prints {@code fake-llm listening on 127.0.0.1:<port>} once
   * ready, then blocks. Exits with status 2 on a bad argument.
   */
  public static void main(String[] args) {
    LaunchOptions options;
    try {
      options = LaunchOptions.parse(args, System.getenv());
    } catch (IllegalArgumentException e) {
      System.err.println("fake-llm: " + e.getMessage());
      System.err.println(LaunchOptions.USAGE);
      System.exit(2);
      return;
    }
    if (options.help()) {
      System.out.println(LaunchOptions.USAGE);
      return;
    }
    FakeLlmUpstream upstream = start(options.port(), options.openAiKey(), options.anthropicKey());
    Runtime.getRuntime().addShutdownHook(new Thread(upstream::close, "fake-llm-shutdown"));
    System.out.println("fake-llm listening on " + HOST + ":" + upstream.port());
    System.out.flush();
    upstream.serverChannel.closeFuture().syncUninterruptibly();
  }
}
