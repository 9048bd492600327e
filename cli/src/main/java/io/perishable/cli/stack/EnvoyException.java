package io.perishable.cli.stack;

import java.io.IOException;

/**
 * Envoy could not be installed, validated or started. The message carries what Envoy (or the
 * install script) printed, so it can be shown to a person as is.
 */
public final class EnvoyException extends IOException {
  private static final long serialVersionUID = 1L;

  public EnvoyException(String message) {
    super(message);
  }

  public EnvoyException(String message, Throwable cause) {
    super(message, cause);
  }
}
