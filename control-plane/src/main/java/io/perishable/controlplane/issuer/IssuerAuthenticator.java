package io.perishable.controlplane.issuer;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.perishable.controlplane.config.IssuerCredential;
import io.perishable.proto.v1.TokenServiceGrpc;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.List;
import java.util.Optional;

/**
 * Authenticates callers by the issuer secret in {@code authorization: Bearer <secret>}. The
 * secret is hashed and compared with every configured digest in constant time, so neither
 * timing nor early exit reveals which issuer, or how much of a digest, matched.
 *
 * <p>Every method refuses a call without a valid secret (UNAUTHENTICATED) here, except
 * {@code TokenService/Issue}: an agent may mint a child token by presenting its own token as
 * {@code parent_token}, with no issuer secret at all. Such a call passes with
 * {@link #ISSUER_ID} unset and {@link #CREDENTIAL_PROBLEM} saying what was wrong with the
 * credentials; the endpoint refuses it with that message unless the request carries a parent
 * token, which the issuance code then verifies against the control plane's own keys.
 */
public final class IssuerAuthenticator implements ServerInterceptor {
  /** The authenticated issuer of the current call. */
  public static final Context.Key<String> ISSUER_ID = Context.key("perishable-issuer-id");

  /** Why the current Issue call has no {@link #ISSUER_ID}; unset when it has one. */
  public static final Context.Key<String> CREDENTIAL_PROBLEM =
      Context.key("perishable-credential-problem");

  static final String MISSING =
      "missing issuer credentials: send 'authorization: Bearer <issuer secret>'";
  static final String UNKNOWN = "unknown issuer secret";

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
    String problem = null;
    Optional<String> issuer = Optional.empty();
    if (value == null || !value.startsWith(BEARER)) {
      problem = MISSING;
    } else {
      issuer = authenticate(value.substring(BEARER.length()).trim());
      if (issuer.isEmpty()) {
        problem = UNKNOWN;
      }
    }
    if (problem != null) {
      if (!TokenServiceGrpc.getIssueMethod().getFullMethodName()
          .equals(call.getMethodDescriptor().getFullMethodName())) {
        return refuse(call, problem);
      }
      // Perhaps delegation: the endpoint decides once it sees whether a parent_token came.
      Context context = Context.current().withValue(CREDENTIAL_PROBLEM, problem);
      return Contexts.interceptCall(context, call, headers, next);
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
