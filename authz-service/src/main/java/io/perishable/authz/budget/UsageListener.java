package io.perishable.authz.budget;

/** Told of every metered response, once, when it completed or was cut. Must not block. */
public interface UsageListener {
  void metered(MeteredResponse response);
}
