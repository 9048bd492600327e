/**
 * The control plane's Prometheus metrics: tokens issued by scope, live tokens, revocations by
 * selector kind and their propagation time, Sync replicas, audit append and fsync latency, and
 * JVM metrics. Labels come from closed sets (scope names, selector kinds), never token or
 * agent ids.
 */
package io.perishable.controlplane.metrics;
