package io.perishable.cli.stack;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;

/** Free TCP ports on 127.0.0.1, for running several stacks (or test runs) side by side. */
public final class LoopbackPorts {
  private LoopbackPorts() {}

  /**
   * Returns a TCP port on 127.0.0.1 that was free a moment ago: the kernel picks it for a socket
   * bound to port 0, and the socket is closed again. Another process may still take it before
   * the caller binds it; callers that start a server on it should fail loudly if the bind fails
   * (Envoy does: it exits, and {@link EnvoyProcess#start} reports that).
   */
  public static int freePort() {
    try (ServerSocket socket = new ServerSocket()) {
      // No SO_REUSEADDR: the port must not be in TIME_WAIT for someone else either.
      socket.setReuseAddress(false);
      socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot bind an ephemeral port on 127.0.0.1", e);
    }
  }
}
