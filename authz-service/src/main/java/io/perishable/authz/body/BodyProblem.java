package io.perishable.authz.body;

/**
 * Why a request body was refused. Each constant is also a stable machine-readable code: callers may
 * use {@link #name()} as a denial reason or metric label.
 */
public enum BodyProblem {
  /** The body is empty or contains only JSON whitespace. */
  EMPTY,
  /**
   * The body is not one syntactically valid, strict (RFC 8259) JSON text: truncated, comments,
   * single quotes, unquoted keys, {@code NaN}, leading zeros, trailing commas, a raw NUL byte, a
   * value exceeding the parser's size limits, and so on.
   */
  NOT_JSON,
  /** The body is valid JSON but its top-level value is not an object. */
  NOT_AN_OBJECT,
  /** Some object, at any depth, has the same key twice (compared after unescaping). */
  DUPLICATE_KEY,
  /**
   * A top-level field the policy reads has the wrong type or value, or a top-level key is spelled
   * so that a lenient provider could take it for one of those fields.
   */
  INVALID_FIELD,
  /** Objects and arrays are nested deeper than the inspector's limit. */
  TOO_DEEP,
  /** Something other than JSON whitespace follows the top-level object. */
  TRAILING_DATA,
  /**
   * The body is not UTF-8: an ill-formed UTF-8 byte sequence (overlong, surrogate, beyond U+10FFFF,
   * truncated), a UTF-8 byte order mark, or UTF-16/UTF-32 text.
   */
  INVALID_UTF8
}
