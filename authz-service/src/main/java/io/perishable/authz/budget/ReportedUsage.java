package io.perishable.authz.budget;

/**
 * The LLM tokens a provider says one response cost.
 *
 * @param input prompt tokens (OpenAI {@code prompt_tokens}; Anthropic {@code input_tokens} plus
 *     its cache creation and cache read input tokens)
 * @param output generated tokens (OpenAI {@code completion_tokens}; Anthropic {@code
 *     output_tokens})
 */
public record ReportedUsage(long input, long output) {
  public ReportedUsage {
    if (input < 0 || output < 0) {
      throw new IllegalArgumentException("usage must not be negative: " + input + ", " + output);
    }
  }

  /** What the request is charged. */
  public long total() {
    return input + output;
  }
}
