package io.perishable.cli;

import io.grpc.ChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.TlsChannelCredentials;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.perishable.proto.v1.BudgetServiceGrpc;
import io.perishable.proto.v1.TokenServiceGrpc;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * Options every TokenService command shares (a picocli mixin): where the control plane is, and
 * where the issuer secret comes from. The secret is read from a file or the environment, never
 * from the command line, where {@code ps} and shell history would show it.
 *
 * <p>A control plane with {@code control_plane.tls} admits only clients presenting a
 * certificate from its CA: {@code --tls-cert}, {@code --tls-key} and {@code --tls-ca} (all
 * three, PEM) make the connection mutual TLS, checking the server's certificate against the
 * CA and the host name of {@code --control-plane}.
 */
final class ControlPlaneOptions {
  static final String SECRET_ENV = "PERISHABLE_ISSUER_SECRET";
  static final Path STACK_SECRET = Path.of(".data", "stack", "issuer-secret");

  @Option(names = "--control-plane", defaultValue = "127.0.0.1:7400",
      description = "Control plane host:port (default: ${DEFAULT-VALUE}).")
  String target;

  @Option(names = "--issuer-secret-file", description = "File holding the issuer secret "
      + "(default: $" + SECRET_ENV + ", else .data/stack/issuer-secret).")
  Path secretFile;

  @Option(names = "--tls-cert", description = "Client certificate (PEM) for a control plane "
      + "with control_plane.tls; needs --tls-key and --tls-ca.")
  Path tlsCert;

  @Option(names = "--tls-key", description = "The client certificate's PKCS#8 private key "
      + "(PEM).")
  Path tlsKey;

  @Option(names = "--tls-ca", description = "CA bundle (PEM) the control plane's certificate "
      + "must chain to.")
  Path tlsCa;

  @Spec(Spec.Target.MIXEE)
  CommandSpec command;

  ManagedChannel channel() {
    if (tlsCert == null && tlsKey == null && tlsCa == null) {
      return NettyChannelBuilder.forTarget(target).usePlaintext().build();
    }
    if (tlsCert == null || tlsKey == null || tlsCa == null) {
      throw new CommandLine.ParameterException(command.commandLine(),
          "--tls-cert, --tls-key and --tls-ca go together");
    }
    ChannelCredentials credentials;
    try {
      credentials = TlsChannelCredentials.newBuilder()
          .keyManager(tlsCert.toFile(), tlsKey.toFile())
          .trustManager(tlsCa.toFile())
          .build();
    } catch (IOException | IllegalArgumentException e) {
      throw new CommandLine.ParameterException(command.commandLine(), "cannot load "
          + "--tls-cert " + tlsCert + ", --tls-key " + tlsKey + " or --tls-ca " + tlsCa + ": "
          + e.getMessage());
    }
    return NettyChannelBuilder.forTarget(target, credentials).build();
  }

  /** A stub sending {@code secret} (when present) as {@code authorization: Bearer}. */
  static TokenServiceGrpc.TokenServiceBlockingStub stub(ManagedChannel channel,
      Optional<String> secret) {
    TokenServiceGrpc.TokenServiceBlockingStub stub = TokenServiceGrpc.newBlockingStub(channel);
    if (secret.isEmpty()) {
      return stub;
    }
    Metadata headers = new Metadata();
    headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER),
        "Bearer " + secret.get());
    return stub.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));
  }

  /** BudgetService, sending {@code secret} as {@code authorization: Bearer}. */
  static BudgetServiceGrpc.BudgetServiceBlockingStub budgets(ManagedChannel channel,
      String secret) {
    Metadata headers = new Metadata();
    headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER),
        "Bearer " + secret);
    return BudgetServiceGrpc.newBlockingStub(channel)
        .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));
  }

  /** The secret named explicitly (--issuer-secret-file or the environment), if any. */
  Optional<String> explicitIssuerSecret() throws IOException {
    if (secretFile != null) {
      return Optional.of(Files.readString(secretFile, StandardCharsets.UTF_8).strip());
    }
    String fromEnv = System.getenv(SECRET_ENV);
    if (fromEnv != null && !fromEnv.isBlank()) {
      return Optional.of(fromEnv.strip());
    }
    return Optional.empty();
  }

  /** The issuer secret: explicit, else the local stack's; a usage error when there is none. */
  String issuerSecret(CommandLine commandLine) throws IOException {
    Optional<String> explicit = explicitIssuerSecret();
    if (explicit.isPresent()) {
      return explicit.get();
    }
    if (Files.exists(STACK_SECRET)) {
      return Files.readString(STACK_SECRET, StandardCharsets.UTF_8).strip();
    }
    throw new CommandLine.ParameterException(commandLine, "no issuer secret: pass "
        + "--issuer-secret-file or set " + SECRET_ENV);
  }
}
