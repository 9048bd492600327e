package io.perishable.authz.metrics;

import io.perishable.authz.budget.MeteredResponse;
import io.perishable.authz.budget.UsageListener;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

/**
 * LLM token usage read from responses, by upstream and kind, and metered responses by outcome.
 * Labels come from closed sets (the configured upstreams; {@code input}/{@code output};
 * {@code usage}, {@code no_usage}, {@code cut}): never a token, token id or agent id.
 */
public final class UsageMetrics implements UsageListener {
  private final Counter tokens;
  private final Counter responses;

  public UsageMetrics(PrometheusRegistry registry) {
    this.tokens = Counter.builder()
        .name("perishable_authz_usage_tokens_total")
        .help("LLM tokens providers reported in responses, by upstream and kind (input, output)")
        .labelNames("upstream", "kind")
        .register(registry);
    this.responses = Counter.builder()
        .name("perishable_authz_metered_responses_total")
        .help("Responses metered, by outcome: usage (reported), no_usage, cut (stream ended "
            + "early)")
        .labelNames("outcome")
        .register(registry);
  }

  @Override
  public void metered(MeteredResponse response) {
    String upstream = response.upstream().isEmpty() ? "unknown" : response.upstream();
    if (!response.complete()) {
      responses.labelValues("cut").inc();
    } else if (response.usage().isPresent()) {
      responses.labelValues("usage").inc();
      tokens.labelValues(upstream, "input").inc(response.usage().get().input());
      tokens.labelValues(upstream, "output").inc(response.usage().get().output());
    } else {
      responses.labelValues("no_usage").inc();
    }
  }
}
