package io.perishable.authz.body;

import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * What the policy needs from an accepted request body. Each field reflects only the
 * <em>top-level</em> key of that name; keys of the same name nested deeper are ignored.
 *
 * @param model the top-level {@code model} string, empty if the key is absent
 * @param maxTokens top-level {@code max_tokens}, empty if absent or {@code null}
 * @param maxCompletionTokens top-level {@code max_completion_tokens}, empty if absent or {@code
 *     null}
 * @param n top-level {@code n}, empty if absent or {@code null}
 * @param stream top-level {@code stream}; {@code false} if absent or {@code null}
 * @param bytes size of the inspected body in bytes
 */
public record BodyFacts(
    Optional<String> model,
    OptionalLong maxTokens,
    OptionalLong maxCompletionTokens,
    OptionalLong n,
    boolean stream,
    int bytes) {

  public BodyFacts {
    Objects.requireNonNull(model, "model");
    Objects.requireNonNull(maxTokens, "maxTokens");
    Objects.requireNonNull(maxCompletionTokens, "maxCompletionTokens");
    Objects.requireNonNull(n, "n");
    if (bytes < 0) {
      throw new IllegalArgumentException("bytes must not be negative: " + bytes);
    }
  }
}
