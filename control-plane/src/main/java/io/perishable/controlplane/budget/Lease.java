package io.perishable.controlplane.budget;

/**
 * Budget a replica may spend on one token until it returns the lease or the lease expires.
 *
 * @param leaseId unique id, named when the replica renews or returns the lease
 * @param tokenId the token the lease is for
 * @param replicaId the replica holding it
 * @param amount LLM tokens granted; at least 1
 * @param expiresAtMs when the ledger takes the lease back unless renewed, ms since the epoch
 */
public record Lease(
    String leaseId, String tokenId, String replicaId, long amount, long expiresAtMs) {}
