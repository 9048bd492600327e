package io.perishable.controlplane.issuer;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.perishable.controlplane.config.IssuerCredential;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.List;
import java.util.Optional;

/**
 * Authenticates callers by the issuer secret in {@code authorization: Bearer <secret>}. The
 * secret is hashed and compared with every configured digest in constant time, so neither
 * timing nor early exit reveals which issuer, or how much of a digest, matched.
 */
public final class IssuerAuthenticator implements ServerInterceptor {
  /** The authenticated issuer of the current call. */
  public static final Context.Key<String> ISSUER_ID = Context.key("perishable-issuer-id");

  private static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
  private static final String BEARER = "Bearer ";

  private final List<IssuerCredential> issuers;

  public IssuerAuthenticator(List<IssuerCredential> issuers) {
    this.issuers = List.copyOf(issuers);
  }

  /** The issuer whose secret this is, if any. */
  public Optional<String> authenticate(String secret) {
    byte[] digest = sha256(secret);
    String match = null;
    for (IssuerCredential issuer : issuers) {
      // No early exit: every digest is compared whatever matched before.
      if (MessageDigest.isEqual(digest, issuer.secretSha256()) && match == null) {
        match = issuer.id();
      }
    }
    return Optional.ofNullable(match);
  }

  @Override
  public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(
      ServerCall<ReqT, RespT> call, Metadata headers, ServerCallHandler<ReqT, RespT> next) {
    String value = headers.get(AUTHORIZATION);
    if (value == null || !value.startsWith(BEARER)) {
      return refuse(call, "missing issuer credentials: send 'authorization: Bearer <issuer secret>'");
    }
    Optional<String> issuer = authenticate(value.substring(BEARER.length()).trim());
    if (issuer.isEmpty()) {
      return refuse(call, "unknown issuer secret");
    }
    Context context = Context.current().withValue(ISSUER_ID, issuer.get());
    return Contexts.interceptCall(context, call, headers, next);
  }

  private static <ReqT, RespT> ServerCall.Listener<ReqT> refuse(
      ServerCall<ReqT, RespT> call, String why) {
    call.close(Status.UNAUTHENTICATED.withDescription(why), new Metadata());
    return new ServerCall.Listener<>() {};
  }

  /** SHA-256 of a secret, as the config file's {@code secret_sha256} holds it. */
  public static byte[] sha256(String secret) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(secret.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required of every JDK", e);
    }
  }
}
