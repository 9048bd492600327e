package io.perishable.authz.budget;

import java.util.Optional;

/**
 * What metering learned about one forwarded request's response.
 *
 * @param requestId Envoy's {@code x-request-id}
 * @param tokenId the token's id, from the ext_authz decision's metadata; empty if unknown
 * @param upstream the upstream the request was routed to; empty if unknown
 * @param status the upstream's HTTP status; 0 if no response headers arrived
 * @param complete true when the body ended normally; false when the stream was cut
 * @param usage the usage the provider reported; empty when it reported none, or the stream
 *     was cut
 * @param completionHash lowercase hex SHA-256 of the response body bytes that passed; never
 *     the text
 */
public record MeteredResponse(
    String requestId,
    String tokenId,
    String upstream,
    int status,
    boolean complete,
    Optional<ReportedUsage> usage,
    String completionHash) {}
