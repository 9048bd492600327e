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
import java.util.function.Consumer;

/**
 * Authenticates callers by the issuer secret in {@code authorization: Bearer <secret>}. The
 * secret is hashed and compared with every configured digest in constant time, so neither
 * timing nor early exit reveals which issuer, or how much of a digest, matched.
 *
 * <p>The same header may instead carry a workload-identity JWT (three dot-separated parts),
 * verified by the configured {@link WorkloadIdentityVerifier}; the caller's principal is then
 * {@code <identity name>:<sub>} and {@link #WORKLOAD_PRINCIPAL} is set. A workload principal
 * may call only {@code TokenService/Issue} (PERMISSION_DENIED elsewhere): revoking and reading
 * the audit trail stay with the static issuers. Refusal messages never contain the token.
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

  /** Set (true) when {@link #ISSUER_ID} is a workload principal proven by a JWT. */
  public static final Context.Key<Boolean> WORKLOAD_PRINCIPAL =
      Context.key("perishable-workload-principal");

  /** The issuer-rejection metric's reason for {@link #CREDENTIAL_PROBLEM}. */
  public static final Context.Key<String> CREDENTIAL_REASON =
      Context.key("perishable-credential-reason");

  static final String MISSING =
      "missing issuer credentials: send 'authorization: Bearer <issuer secret>'";
  static final String UNKNOWN = "unknown issuer secret";
  static final String JWT_NOT_ACCEPTED = "identity tokens are not accepted: "
      + "control_plane.workload_identity is not configured";

  private static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
  private static final String BEARER = "Bearer ";

  private final List<IssuerCredential> issuers;
  private final Optional<WorkloadIdentityVerifier> workloads;
  private final Consumer<String> rejections;

  /** Static issuer secrets only. */
  public IssuerAuthenticator(List<IssuerCredential> issuers) {
    this(issuers, Optional.empty(), reason -> { });
  }

  /**
   * @param workloads verifies identity JWTs, when workload identity is configured
   * @param rejections told the reason code of every call this interceptor refuses itself
   */
  public IssuerAuthenticator(List<IssuerCredential> issuers,
      Optional<WorkloadIdentityVerifier> workloads, Consumer<String> rejections) {
    this.issuers = List.copyOf(issuers);
    this.workloads = workloads;
    this.rejections = rejections;
  }

  /** A JWT's compact form: header.payload.signature. Issuer secrets never contain a dot. */
  static boolean looksLikeJwt(String credential) {
    int first = credential.indexOf('.');
    int second = first < 0 ? -1 : credential.indexOf('.', first + 1);
    return first > 0 && second > first + 1 && credential.indexOf('.', second + 1) < 0;
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
    boolean isIssue = TokenServiceGrpc.getIssueMethod().getFullMethodName()
        .equals(call.getMethodDescriptor().getFullMethodName());
    String problem = null;
    String reason = null;
    Optional<String> issuer = Optional.empty();
    boolean workload = false;
    if (value == null || !value.startsWith(BEARER)) {
      problem = MISSING;
      reason = "missing_credentials";
    } else {
      String credential = value.substring(BEARER.length()).trim();
      if (looksLikeJwt(credential)) {
        workload = true;
        if (workloads.isEmpty()) {
          problem = JWT_NOT_ACCEPTED;
          reason = "identity_tokens_not_accepted";
        } else {
          WorkloadIdentityVerifier.Outcome outcome = workloads.get().check(credential);
          if (outcome.principal() == null) {
            problem = "identity token refused: " + outcome.reason();
            reason = "identity_token_invalid";
          } else {
            issuer = Optional.of(outcome.principal());
          }
        }
      } else {
        issuer = authenticate(credential);
        if (issuer.isEmpty()) {
          problem = UNKNOWN;
          reason = "unknown_secret";
        }
      }
    }
    if (problem != null) {
      if (!isIssue) {
        return refuse(call, Status.UNAUTHENTICATED, problem, reason);
      }
      // Perhaps delegation: the endpoint decides once it sees whether a parent_token came.
      Context context = Context.current().withValue(CREDENTIAL_PROBLEM, problem)
          .withValue(CREDENTIAL_REASON, reason);
      return Contexts.interceptCall(context, call, headers, next);
    }
    if (workload && !isIssue) {
      return refuse(call, Status.PERMISSION_DENIED, "workload identity " + issuer.get()
          + " may only call TokenService/Issue; "
          + call.getMethodDescriptor().getFullMethodName() + " needs an issuer secret",
          "workload_method_not_allowed");
    }
    Context context = Context.current().withValue(ISSUER_ID, issuer.get())
        .withValue(WORKLOAD_PRINCIPAL, workload);
    return Contexts.interceptCall(context, call, headers, next);
  }

  private <ReqT, RespT> ServerCall.Listener<ReqT> refuse(
      ServerCall<ReqT, RespT> call, Status status, String why, String reason) {
    rejections.accept(reason);
    call.close(status.withDescription(why), new Metadata());
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
