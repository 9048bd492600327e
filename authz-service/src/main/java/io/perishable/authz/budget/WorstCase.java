package io.perishable.authz.budget;

import io.perishable.authz.body.BodyFacts;
import java.util.OptionalLong;

/**
 * The most LLM tokens a request can cost: its prompt plus everything it may generate.
 *
 * <p>The prompt is bounded by the body's size in bytes: the providers' tokenizers never make a
 * token of less than one byte of text, and the JSON around the text only adds bytes, so this
 * over-estimates (by some four times for English) but never under-estimates text prompts.
 * Generation is {@code max(max_tokens, max_completion_tokens) x n} ({@code n} absent = 1).
 * Whatever a request reserves beyond its real usage is available again once it settles.
 */
public final class WorstCase {
  private WorstCase() {}

  /**
   * @param defaultMaxTokens what to assume for a request that names no max-token field; empty
   *     to refuse such requests
   * @return the worst case in LLM tokens (saturating at {@code Long.MAX_VALUE}), or empty when
   *     the request names no max-token field and there is no default
   */
  public static OptionalLong of(BodyFacts facts, OptionalLong defaultMaxTokens) {
    OptionalLong named = max(facts.maxTokens(), facts.maxCompletionTokens());
    OptionalLong generated = named.isPresent() ? named : defaultMaxTokens;
    if (generated.isEmpty()) {
      return OptionalLong.empty();
    }
    long n = Math.max(1, facts.n().orElse(1));
    long completion = saturatingMultiply(Math.max(0, generated.getAsLong()), n);
    long total = completion + facts.bytes();
    return OptionalLong.of(total < 0 ? Long.MAX_VALUE : total);
  }

  private static OptionalLong max(OptionalLong a, OptionalLong b) {
    if (a.isEmpty()) {
      return b;
    }
    if (b.isEmpty()) {
      return a;
    }
    return OptionalLong.of(Math.max(a.getAsLong(), b.getAsLong()));
  }

  private static long saturatingMultiply(long a, long b) {
    long high = Math.multiplyHigh(a, b);
    long low = a * b;
    return high != 0 || low < 0 ? Long.MAX_VALUE : low;
  }
}
