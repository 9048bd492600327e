package io.perishable.cli.stack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import org.junit.jupiter.api.Test;

class LoopbackPortsTest {

  @Test
  void freePort_canBeBoundOnLoopback() throws Exception {
    int port = LoopbackPorts.freePort();

    try (ServerSocket socket = new ServerSocket()) {
      socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
      assertEquals(port, socket.getLocalPort());
    }
    assertTrue(port > 0 && port <= 65535);
  }
}
