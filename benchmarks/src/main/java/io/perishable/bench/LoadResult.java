package io.perishable.bench;

/**
 * What one load-generator run measured.
 *
 * @param label what was measured, for messages
 * @param requests responses received (successful or not)
 * @param rps responses per second over the run
 * @param p50Micros median latency
 * @param p99Micros 99th-percentile latency
 * @param errors requests that failed: non-2xx/3xx statuses, socket errors, timeouts, non-OK
 *     gRPC statuses
 * @param errorDetail what the errors were, or empty
 */
public record LoadResult(
    String label, long requests, double rps, double p50Micros, double p99Micros, long errors,
    String errorDetail) {

  /** True if the run completed requests and none of them failed. */
  public boolean clean() {
    return errors == 0 && requests > 0;
  }

  /** An error message for the table's error list, or empty if clean. */
  public String problem() {
    if (requests == 0) {
      return label + ": no request completed";
    }
    return errors == 0 ? "" : label + ": " + errors + " of " + requests + " failed (" + errorDetail
        + ")";
  }
}
