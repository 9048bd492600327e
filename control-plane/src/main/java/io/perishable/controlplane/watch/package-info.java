/**
 * {@code perishable.v1.AuditService}: the audit log streamed to SIEM consumers and {@code
 * perishable audit tail}, from a sequence number on and then live.
 */
package io.perishable.controlplane.watch;
