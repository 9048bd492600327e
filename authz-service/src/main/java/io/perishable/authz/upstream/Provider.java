package io.perishable.authz.upstream;

/** The API dialect of an upstream: decides credential headers and error-body shape. */
public enum Provider {
  /** OpenAI and OpenAI-compatible APIs: {@code authorization: Bearer <key>}. */
  OPENAI,
  /** Anthropic: {@code x-api-key: <key>} plus {@code anthropic-version}. */
  ANTHROPIC
}
