/**
 * Revocations in the data plane: {@link io.perishable.authz.revocation.RevocationSet} holds the
 * rules the control plane pushed (snapshot, then deltas) and answers, for every request whose
 * token verified, whether a rule refuses it. Indexed for the hot path: a lookup costs one hash
 * probe per token id and ancestor id, one for the agent, one per scope, plus a scan of the
 * (rare) issue-time-window rules.
 */
package io.perishable.authz.revocation;
