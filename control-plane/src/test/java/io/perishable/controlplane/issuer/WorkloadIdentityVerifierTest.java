package io.perishable.controlplane.issuer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jose.proc.BadJOSEException;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.PlainJWT;
import com.nimbusds.jwt.SignedJWT;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.Optional;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Workload JWTs as a Kubernetes API server would sign them, and the usual attacks on JWTs. */
class WorkloadIdentityVerifierTest {
  private static final String ISSUER = "https://kubernetes.default.svc";
  private static final String AUDIENCE = "perishable";
  private static final String SUB = "system:serviceaccount:agents:planner";

  @TempDir
  Path dir;

  private RSAKey clusterKey;
  private Path jwks;
  private WorkloadIdentityVerifier verifier;

  @BeforeEach
  void setUp() throws Exception {
    clusterKey = new RSAKeyGenerator(2048).keyID("k1").generate();
    jwks = dir.resolve("jwks.json");
    Files.writeString(jwks, new JWKSet(clusterKey.toPublicJWK()).toString());
    verifier = new WorkloadIdentityVerifier(new WorkloadIdentity("k8s", ISSUER, AUDIENCE,
        Optional.of(jwks), Optional.empty(), Duration.ofSeconds(30)));
  }

  private JWTClaimsSet.Builder claims() {
    Instant now = Instant.now();
    return new JWTClaimsSet.Builder().issuer(ISSUER).audience(AUDIENCE).subject(SUB)
        .issueTime(Date.from(now)).expirationTime(Date.from(now.plusSeconds(600)));
  }

  private String sign(RSAKey key, JWTClaimsSet claims) throws Exception {
    SignedJWT jwt = new SignedJWT(
        new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(key.getKeyID()).build(), claims);
    jwt.sign(new RSASSASigner(key));
    return jwt.serialize();
  }

  @Test
  void verify_serviceAccountToken_principalIsIdentityAndSubject() throws Exception {
    assertEquals(Optional.of("k8s:" + SUB), verifier.verify(sign(clusterKey, claims().build())));
  }

  @Test
  void verify_wrongAudienceOrIssuer_refused() throws Exception {
    assertTrue(verifier.verify(sign(clusterKey, claims().audience("vault").build())).isEmpty());
    assertTrue(verifier.verify(sign(clusterKey, claims().issuer("https://evil").build()))
        .isEmpty());
  }

  @Test
  void verify_expiredBeyondSkew_refused() throws Exception {
    Instant past = Instant.now().minus(Duration.ofMinutes(5));
    String jwt = sign(clusterKey, claims().expirationTime(Date.from(past)).build());
    WorkloadIdentityVerifier.Outcome outcome = verifier.check(jwt);
    assertNull(outcome.principal());
    assertTrue(outcome.reason().toLowerCase().contains("expired"), outcome.reason());
  }

  @Test
  void verify_noExpiry_refused() throws Exception {
    assertTrue(verifier.verify(sign(clusterKey, claims().expirationTime(null).build()))
        .isEmpty());
  }

  @Test
  void verify_signedByAnotherKeyWithTheSameKeyId_refused() throws Exception {
    RSAKey attacker = new RSAKeyGenerator(2048).keyID("k1").generate();
    assertTrue(verifier.verify(sign(attacker, claims().build())).isEmpty());
  }

  @Test
  void verify_algNone_refused() {
    String unsigned = new PlainJWT(claims().build()).serialize();
    assertTrue(verifier.verify(unsigned).isEmpty());
  }

  @Test
  void verify_hmacWithThePublicKeyAsSecret_refused() throws Exception {
    // The classic key-confusion attack: HS256 keyed with the (public) RSA modulus bytes.
    byte[] secret = clusterKey.toPublicJWK().toRSAPublicKey().getEncoded();
    SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.HS256).keyID("k1").build(),
        claims().build());
    jwt.sign(new MACSigner(secret));
    assertTrue(verifier.verify(jwt.serialize()).isEmpty());
  }

  @Test
  void verify_garbage_refusedAsNotAJwt() {
    assertEquals("not a JWT", verifier.check("pis_static-secret").reason());
  }

  @Test
  void reload_rotatedJwksFile_newKeyAccepted() throws Exception {
    RSAKey rotated = new RSAKeyGenerator(2048).keyID("k2").generate();
    String jwt = sign(rotated, claims().build());
    assertTrue(verifier.verify(jwt).isEmpty());

    Files.writeString(jwks, new JWKSet(java.util.List.of(clusterKey.toPublicJWK(),
        rotated.toPublicJWK())).toString());
    verifier.reload();

    assertEquals(Optional.of("k8s:" + SUB), verifier.verify(jwt));
  }

  @Test
  void explain_quotedCallerInput_keptShortAndPrintable() {
    String reason = WorkloadIdentityVerifier.explain(new BadJOSEException(
        "JWT iss claim has value https://evil\n2026 INFO forged \u0007" + "y".repeat(300)));

    assertTrue(reason.matches("[\\x20-\\x7e]{1,160}"), reason);
    assertTrue(reason.startsWith("JWT iss claim has value https://evil?2026 INFO forged ?"),
        reason);
  }

  @Test
  void verify_subjectThatCouldForgeALogLine_refused() throws Exception {
    String jwt = sign(clusterKey, claims().subject("x\n2026 INFO issued token_id=forged")
        .build());

    WorkloadIdentityVerifier.Outcome outcome = verifier.check(jwt);

    assertNull(outcome.principal());
    assertTrue(outcome.reason().contains("no usable sub claim"), outcome.reason());
  }
}
