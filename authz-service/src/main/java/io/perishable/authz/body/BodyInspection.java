package io.perishable.authz.body;

import java.util.Objects;

/** The outcome of {@link RequestBodyInspector#inspect}: the body's facts, or why it was refused. */
public sealed interface BodyInspection {

  /** The body is one well-formed JSON object and its policy-relevant fields were read. */
  record Accepted(BodyFacts facts) implements BodyInspection {
    public Accepted {
      Objects.requireNonNull(facts, "facts");
    }
  }

  /**
   * The body was refused.
   *
   * @param problem the machine-readable reason
   * @param detail a human-readable explanation, safe to show the client: it never quotes the body
   *     beyond a short, sanitized key name, and carries at most byte offsets
   */
  record Rejected(BodyProblem problem, String detail) implements BodyInspection {
    public Rejected {
      Objects.requireNonNull(problem, "problem");
      Objects.requireNonNull(detail, "detail");
    }
  }
}
