/**
 * The project's only fake LLM provider: a small OpenAI- and Anthropic-compatible HTTP server on
 * loopback that records exactly what it received.
 *
 * <p>Tests point Envoy (or a client) at a {@link io.perishable.fakellm.FakeLlmUpstream} and then
 * ask its {@link io.perishable.fakellm.RecordedRequest}s whether the real provider key arrived and
 * the {@code prs_} token did not. The developer stack runs the same server through {@link
 * io.perishable.fakellm.FakeLlmUpstream#main(String[])} when no provider key is configured.
 *
 * <p>Layout: {@code FakeLlmUpstream} is the public door and owns the Netty server, with {@code
 * LaunchOptions} for its command line, {@code RequestJournal} for what it recorded and {@code
 * ResponseHolds} for the answers a test holds back until it releases them; {@code
 * FakeLlmChannelInitializer}, {@code PriorKnowledgeDetector}, {@code ReceivedHeadersCapture} and
 * {@code FakeLlmHandler} are the transport glue; {@code FakeLlmRouter} decides every answer as a
 * plain {@code Reply} without touching Netty; {@code OpenAiApi} and {@code AnthropicApi} hold each
 * provider's response shapes, built from an {@code ApiCall}; {@code FakeCompletion} is the one
 * deterministic answer both of them give.
 */
package io.perishable.fakellm;
