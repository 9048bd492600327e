/**
 * The token index: every token this control plane minted, by id, by agent and by lineage,
 * for {@code GetToken}, {@code ListTokens}, {@code GetLineage} and for counting what a
 * revocation covers.
 *
 * <p>{@link io.perishable.controlplane.tokens.TokenIndex} is the narrow door a durable
 * implementation (rebuilt from the audit log, or PostgreSQL for many nodes) slots in behind;
 * {@link io.perishable.controlplane.tokens.InMemoryTokenIndex} is the only one today; the
 * control plane refills it from the audit log on every start. Token strings are never stored: only
 * their claims.
 */
package io.perishable.controlplane.tokens;
