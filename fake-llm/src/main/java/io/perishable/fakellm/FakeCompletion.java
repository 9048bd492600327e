package io.perishable.fakellm;

import java.util.List;
import java.util.OptionalInt;

/**
 * The one answer the fake model ever gives, {@value #FULL_TEXT}, cut to the caller's token limit.
 *
 * <p>The text is five fixed "tokens", so usage numbers, stream deltas and truncation are the same
 * on every run: a limit of 2 yields {@code "Hello from"} with a length/max_tokens stop reason.
 *
 * @param tokens the tokens produced, in order; their concatenation is the completion text
 */
record FakeCompletion(List<String> tokens) {

  static final String FULL_TEXT = "Hello from fake-llm.";

  static final List<String> FULL_TOKENS = List.of("Hello", " from", " fake", "-llm", ".");

  FakeCompletion {
    tokens = List.copyOf(tokens);
  }

  /**
   * Produces the answer for a request.
   *
   * @param maxTokens the request's output limit, if it gave one; negative counts as zero
   */
  static FakeCompletion upTo(OptionalInt maxTokens) {
    int limit = Math.max(0, maxTokens.orElse(FULL_TOKENS.size()));
    return new FakeCompletion(FULL_TOKENS.subList(0, Math.min(limit, FULL_TOKENS.size())));
  }

  /**
   * Estimates prompt tokens the way every fake response reports them: a quarter of the request
   * body's bytes, at least one.
   */
  static int promptTokens(int bodyBytes) {
    return Math.max(1, bodyBytes / 4);
  }

  String text() {
    return String.join("", tokens);
  }

  int tokenCount() {
    return tokens.size();
  }

  /** True when the limit cut the answer short, which providers report as a distinct stop reason. */
  boolean truncated() {
    return tokens.size() < FULL_TOKENS.size();
  }
}
