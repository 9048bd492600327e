/**
 * Per-token, per-scope rate limits from the scope catalog ({@code rate_limit: 100/minute}):
 * token buckets held by this replica, answering how long to wait when empty.
 */
package io.perishable.authz.ratelimit;
