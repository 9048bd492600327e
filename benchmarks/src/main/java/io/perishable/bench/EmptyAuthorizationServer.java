package io.perishable.bench;

import io.envoyproxy.envoy.service.auth.v3.AuthorizationGrpc;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import io.grpc.Server;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

/**
 * The physical limit for the Check RPC: an Authorization service that answers OK at once, on a
 * gRPC server built like authz-service's (Netty, loopback, direct executor, the same inbound
 * message limit). Whatever Check costs beyond this is perishable's.
 */
public final class EmptyAuthorizationServer implements AutoCloseable {
  private static final CheckResponse OK = CheckResponse.newBuilder()
      .setStatus(com.google.rpc.Status.newBuilder().setCode(0))
      .build();

  private final Server server;

  private EmptyAuthorizationServer(Server server) {
    this.server = server;
  }

  /** Listens on 127.0.0.1:{@code port} (0: any free port). */
  public static EmptyAuthorizationServer start(int port, int maxInboundMessageBytes) {
    Server server = NettyServerBuilder
        .forAddress(new InetSocketAddress(InetAddress.getLoopbackAddress(), port))
        .directExecutor()
        .maxInboundMessageSize(maxInboundMessageBytes)
        .addService(new AuthorizationGrpc.AuthorizationImplBase() {
          @Override
          public void check(CheckRequest request, StreamObserver<CheckResponse> responses) {
            responses.onNext(OK);
            responses.onCompleted();
          }
        })
        .build();
    try {
      server.start();
    } catch (IOException e) {
      throw new UncheckedIOException("empty Authorization server cannot listen", e);
    }
    return new EmptyAuthorizationServer(server);
  }

  public int port() {
    return server.getPort();
  }

  @Override
  public void close() {
    server.shutdown();
    try {
      if (!server.awaitTermination(5, TimeUnit.SECONDS)) {
        server.shutdownNow();
      }
    } catch (InterruptedException e) {
      server.shutdownNow();
      Thread.currentThread().interrupt();
    }
  }
}
