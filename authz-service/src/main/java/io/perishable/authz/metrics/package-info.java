/**
 * authz-service's Prometheus metrics (the maintained {@code prometheus-metrics-*} client):
 * decisions by result and reason, Check latency, body bytes inspected, verified-token cache
 * size and Sync staleness, plus JVM metrics, served on {@code /metrics}. No label ever holds a
 * token, token id or agent id.
 */
package io.perishable.authz.metrics;
