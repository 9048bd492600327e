package io.perishable.controlplane;

import io.grpc.BindableService;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * JUnit 5 extension: starts in-process gRPC servers on a direct executor and shuts servers and
 * channels down after each test. Register with {@code @RegisterExtension}.
 */
public final class InProcessGrpc implements AfterEachCallback {
  private final List<Server> servers = new ArrayList<>();
  private final List<ManagedChannel> channels = new ArrayList<>();

  /** Serves {@code services} and returns a channel to them. */
  public ManagedChannel serve(Object... services) {
    String name = InProcessServerBuilder.generateName();
    InProcessServerBuilder builder = InProcessServerBuilder.forName(name).directExecutor();
    for (Object service : services) {
      if (service instanceof ServerServiceDefinition definition) {
        builder.addService(definition);
      } else {
        builder.addService((BindableService) service);
      }
    }
    try {
      servers.add(builder.build().start());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    ManagedChannel channel = InProcessChannelBuilder.forName(name).directExecutor().build();
    channels.add(channel);
    return channel;
  }

  @Override
  public void afterEach(ExtensionContext context) throws InterruptedException {
    for (ManagedChannel channel : channels) {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    for (Server server : servers) {
      server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    channels.clear();
    servers.clear();
  }
}
