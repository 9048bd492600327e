package io.perishable.controlplane.issuer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@code jwks_url}: keys fetched over HTTP from a loopback server, and a key that appears
 * there later (rotation) picked up when a token names its key id.
 */
class WorkloadIdentityJwksUrlTest {
  private static final String ISSUER = "https://oidc.example";
  private static final String SUB = "system:serviceaccount:agents:planner";

  private final AtomicReference<String> served = new AtomicReference<>();
  private HttpServer server;
  private WorkloadIdentityVerifier verifier;

  @BeforeEach
  void start() throws Exception {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/jwks.json", exchange -> {
      byte[] body = served.get().getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().add("content-type", "application/json");
      exchange.sendResponseHeaders(200, body.length);
      exchange.getResponseBody().write(body);
      exchange.close();
    });
    server.start();
  }

  @AfterEach
  void stop() {
    server.stop(0);
  }

  private WorkloadIdentityVerifier verifier() {
    return new WorkloadIdentityVerifier(new WorkloadIdentity("oidc", ISSUER, "perishable",
        Optional.empty(), Optional.of(URI.create("http://127.0.0.1:"
            + server.getAddress().getPort() + "/jwks.json")), Duration.ofSeconds(30)));
  }

  private static String sign(ECKey key) throws Exception {
    Instant now = Instant.now();
    SignedJWT jwt = new SignedJWT(
        new JWSHeader.Builder(JWSAlgorithm.ES256).keyID(key.getKeyID()).build(),
        new JWTClaimsSet.Builder().issuer(ISSUER).audience("perishable").subject(SUB)
            .issueTime(Date.from(now)).expirationTime(Date.from(now.plusSeconds(300))).build());
    jwt.sign(new ECDSASigner(key));
    return jwt.serialize();
  }

  @Test
  void tokenSignedByAKeyTheUrlServes_verified_andARotatedInKeyFoundByItsId() throws Exception {
    ECKey first = new ECKeyGenerator(Curve.P_256).keyID("first").generate();
    ECKey second = new ECKeyGenerator(Curve.P_256).keyID("second").generate();
    served.set(new JWKSet(first.toPublicJWK()).toString());
    verifier = verifier();

    assertEquals("oidc:" + SUB, verifier.check(sign(first)).principal());

    served.set(new JWKSet(List.of(first.toPublicJWK(), second.toPublicJWK())).toString());
    assertEquals("oidc:" + SUB, verifier.check(sign(second)).principal());
  }

  @Test
  void tokenSignedByAKeyTheUrlDoesNotServe_refused() throws Exception {
    served.set(new JWKSet(new ECKeyGenerator(Curve.P_256).keyID("k").generate().toPublicJWK())
        .toString());
    verifier = verifier();
    ECKey stranger = new ECKeyGenerator(Curve.P_256).keyID("k").generate();

    assertNull(verifier.check(sign(stranger)).principal());
  }
}
