package io.perishable.controlplane.issuer;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.source.ImmutableJWKSet;
import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.jwk.source.JWKSourceBuilder;
import com.nimbusds.jose.proc.BadJOSEException;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.proc.DefaultJWTClaimsVerifier;
import com.nimbusds.jwt.proc.DefaultJWTProcessor;
import java.io.IOException;
import java.text.ParseException;
import java.time.Clock;
import java.util.Date;
import java.util.Optional;
import java.util.Set;

/**
 * Verifies workload-identity JWTs: signature against the platform's JWKS (RS256, RS384,
 * RS512, ES256, ES384, PS256 only: no {@code none}, no HMAC, so a public key can never be
 * used as a shared secret), {@code iss} and {@code aud} exactly as configured, {@code exp}
 * required and {@code nbf}/{@code exp} within the clock skew, and a non-empty {@code sub}.
 * The principal is {@code <identity name>:<sub>}, e.g.
 * {@code k8s:system:serviceaccount:agents:planner}.
 *
 * <p>A file JWKS is re-read by {@link #reload()} (key rotation without restart); a URL JWKS is
 * fetched and cached by Nimbus's JWKSourceBuilder, refreshed when an unknown key id appears.
 */
public final class WorkloadIdentityVerifier {
  private static final Set<JWSAlgorithm> ALGORITHMS = Set.of(JWSAlgorithm.RS256,
      JWSAlgorithm.RS384, JWSAlgorithm.RS512, JWSAlgorithm.ES256, JWSAlgorithm.ES384,
      JWSAlgorithm.PS256);

  private final WorkloadIdentity identity;
  private final Clock clock;
  private volatile DefaultJWTProcessor<SecurityContext> processor;

  /** Checks expiry against the system clock. */
  public WorkloadIdentityVerifier(WorkloadIdentity identity) {
    this(identity, Clock.systemUTC());
  }

  /** Checks {@code exp} and {@code nbf} against {@code clock} (within the clock skew). */
  public WorkloadIdentityVerifier(WorkloadIdentity identity, Clock clock) {
    this.identity = identity;
    this.clock = clock;
    this.processor = processor(source());
  }

  public WorkloadIdentity identity() {
    return identity;
  }

  /** Re-reads a file JWKS; a URL JWKS refreshes itself. */
  public void reload() {
    if (identity.jwksFile().isPresent()) {
      processor = processor(source());
    }
  }

  /**
   * The principal a token proves, or empty when it is not a valid token of this platform. The
   * reason is logged by the caller from {@link #explain}; it never contains the token.
   */
  public Optional<String> verify(String jwt) {
    return Optional.ofNullable(check(jwt).principal());
  }

  /** The outcome with its reason. */
  public Outcome check(String jwt) {
    try {
      JWTClaimsSet claims = processor.process(jwt, null);
      String subject = claims.getSubject();
      // The principal lands in log lines, status messages and the audit log: printable ASCII
      // without spaces only (Kubernetes subjects are system:serviceaccount:<ns>:<name>).
      if (subject == null || !subject.matches("[\\x21-\\x7e]{1,256}")) {
        return new Outcome(null, "token has no usable sub claim (1-256 printable ASCII "
            + "characters, no spaces)");
      }
      return new Outcome(identity.name() + ":" + subject, null);
    } catch (ParseException e) {
      return new Outcome(null, "not a JWT");
    } catch (BadJOSEException e) {
      return new Outcome(null, explain(e));
    } catch (JOSEException e) {
      return new Outcome(null, "signature could not be checked");
    }
  }

  /** Who the token proves ({@code principal}), or why it proves nothing ({@code reason}). */
  public record Outcome(String principal, String reason) {}

  static String explain(BadJOSEException e) {
    // Nimbus messages name claims and algorithms, and may quote a claim's value (iss, aud):
    // caller input, so keep it short and printable, never a forged log line or header.
    String message = e.getMessage() == null ? "rejected" : e.getMessage();
    message = message.length() > 160 ? message.substring(0, 160) : message;
    return message.replaceAll("[^\\x20-\\x7e]", "?");
  }

  private JWKSource<SecurityContext> source() {
    if (identity.jwksFile().isPresent()) {
      try {
        return new ImmutableJWKSet<>(JWKSet.load(identity.jwksFile().get().toFile()));
      } catch (IOException | ParseException e) {
        throw new IllegalArgumentException("workload identity " + identity.name()
            + ": cannot read JWKS " + identity.jwksFile().get() + ": " + e.getMessage());
      }
    }
    try {
      return JWKSourceBuilder.create(identity.jwksUrl().get().toURL())
          .retrying(true)
          .build();
    } catch (java.net.MalformedURLException e) {
      throw new IllegalArgumentException(
          "workload identity " + identity.name() + ": jwks_url is not a URL");
    }
  }

  private DefaultJWTProcessor<SecurityContext> processor(JWKSource<SecurityContext> keys) {
    DefaultJWTProcessor<SecurityContext> p = new DefaultJWTProcessor<>();
    p.setJWSKeySelector(new JWSVerificationKeySelector<>(ALGORITHMS, keys));
    DefaultJWTClaimsVerifier<SecurityContext> claims = new DefaultJWTClaimsVerifier<>(
        identity.audience(),
        new JWTClaimsSet.Builder().issuer(identity.issuer()).build(),
        Set.of("sub", "exp")) {
      @Override
      protected Date currentTime() {
        return new Date(clock.millis());
      }
    };
    claims.setMaxClockSkew((int) identity.clockSkew().toSeconds());
    p.setJWTClaimsSetVerifier(claims);
    return p;
  }
}
