package io.perishable.authz;

import java.util.Locale;

/**
 * Why a request was refused: one code used in the JSON error body ({@code error.code}), the
 * {@code x-perishable-reason} response header, the logs and the metrics' {@code reason} label.
 * Each reason fixes the HTTP status and the provider-style error type.
 */
public enum DenialReason {
  // 401: the credential itself is missing or not acceptable.
  TOKEN_MISSING(401, "invalid_request_error", "authentication_error"),
  TOKEN_MALFORMED(401, "invalid_request_error", "authentication_error"),
  TOKEN_BAD_SIGNATURE(401, "invalid_request_error", "authentication_error"),
  TOKEN_UNKNOWN_KEY(401, "invalid_request_error", "authentication_error"),
  TOKEN_EXPIRED(401, "invalid_request_error", "authentication_error"),
  TOKEN_NOT_YET_VALID(401, "invalid_request_error", "authentication_error"),
  CREDENTIAL_AMBIGUOUS(401, "invalid_request_error", "authentication_error"),
  /** A revocation rule covers the token (or an ancestor); the message carries its reason. */
  TOKEN_REVOKED(401, "invalid_request_error", "authentication_error"),
  // 403: a valid token that does not grant this request.
  PATH_NOT_ALLOWED(403, "permission_error", "permission_error"),
  METHOD_NOT_ALLOWED(403, "permission_error", "permission_error"),
  MODEL_NOT_ALLOWED(403, "permission_error", "permission_error"),
  MODEL_REQUIRED(403, "permission_error", "permission_error"),
  MAX_TOKENS_EXCEEDED(403, "permission_error", "permission_error"),
  MAX_TOKENS_REQUIRED(403, "permission_error", "permission_error"),
  // 400: a request we will not forward because we cannot be sure what the provider would do.
  PATH_NOT_CANONICAL(400, "invalid_request_error", "invalid_request_error"),
  RESERVED_HEADER(400, "invalid_request_error", "invalid_request_error"),
  BODY_NOT_JSON(400, "invalid_request_error", "invalid_request_error"),
  BODY_DUPLICATE_KEY(400, "invalid_request_error", "invalid_request_error"),
  BODY_INVALID_FIELD(400, "invalid_request_error", "invalid_request_error"),
  BODY_TRUNCATED(400, "invalid_request_error", "invalid_request_error"),
  // 413 / 415: bodies we cannot inspect.
  BODY_TOO_LARGE(413, "invalid_request_error", "request_too_large"),
  BODY_ENCODED(415, "invalid_request_error", "invalid_request_error"),
  CONTENT_TYPE_UNSUPPORTED(415, "invalid_request_error", "invalid_request_error"),
  // 429: the token's per-scope rate limit on this replica (Retry-After says when).
  RATE_LIMITED(429, "requests", "rate_limit_error"),
  /** The token's budget (LLM tokens over its life) cannot cover this request's worst case. */
  BUDGET_EXHAUSTED(429, "insufficient_quota", "rate_limit_error"),
  /**
   * The token's agent has spent its budget for the current period (control_plane.budget.agents):
   * every token of that agent is refused until the next period window.
   */
  AGENT_BUDGET_EXHAUSTED(429, "insufficient_quota", "rate_limit_error"),
  // 503: we cannot decide, so we refuse.
  /** No snapshot from the control plane yet: no keys, no revocations, nothing to decide by. */
  NOT_SYNCED(503, "server_error", "api_error"),
  /**
   * The control plane has been silent longer than max_staleness: revocations may be missing,
   * so this replica fails closed.
   */
  SYNC_STALE(503, "server_error", "api_error"),
  UPSTREAM_UNAVAILABLE(503, "server_error", "api_error"),
  /**
   * The decision spool is full or failing under {@code when_spool_full: fail_closed}: nothing
   * is served that could not be recorded.
   */
  AUDIT_UNAVAILABLE(503, "server_error", "api_error"),
  /** The token has a budget, and no lease on it could be had from the control plane. */
  BUDGET_UNAVAILABLE(503, "server_error", "api_error"),
  INTERNAL_ERROR(503, "server_error", "api_error");

  private final int httpStatus;
  private final String openAiType;
  private final String anthropicType;
  private final String code;

  DenialReason(int httpStatus, String openAiType, String anthropicType) {
    this.httpStatus = httpStatus;
    this.openAiType = openAiType;
    this.anthropicType = anthropicType;
    this.code = name().toLowerCase(Locale.ROOT);
  }

  /** HTTP status the client receives. */
  public int httpStatus() {
    return httpStatus;
  }

  /** {@code error.type} in an OpenAI-style error body. */
  public String openAiType() {
    return openAiType;
  }

  /** {@code error.type} in an Anthropic-style error body. */
  public String anthropicType() {
    return anthropicType;
  }

  /** Stable lower-case code: body {@code error.code}, header, log field, metric label. */
  public String code() {
    return code;
  }
}
