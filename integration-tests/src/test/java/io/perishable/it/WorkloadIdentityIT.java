package io.perishable.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.perishable.cli.config.ConfigFile;
import io.perishable.controlplane.ControlPlaneServer;
import io.perishable.controlplane.config.ControlPlaneConfig;
import io.perishable.controlplane.issuer.IssuerGrants;
import io.perishable.controlplane.issuer.WorkloadIdentity;
import io.perishable.proto.v1.IssueRequest;
import io.perishable.proto.v1.IssueResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * A workload with a Kubernetes-style service-account JWT (RS256, signed by a test key whose
 * JWKS is a file) mints a token from the control plane and calls the LLM through real Envoy
 * with it; its issuer grant bounds what it can get.
 */
class WorkloadIdentityIT {
  private static final String CLUSTER = "https://kubernetes.default.svc.cluster.local";
  private static final String SUB = "system:serviceaccount:agents:summarizer";

  private static String serviceAccountToken(RSAKey key) throws Exception {
    Instant now = Instant.now();
    SignedJWT jwt = new SignedJWT(
        new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(key.getKeyID()).build(),
        new JWTClaimsSet.Builder().issuer(CLUSTER).audience("perishable").subject(SUB)
            .issueTime(Date.from(now)).expirationTime(Date.from(now.plusSeconds(600)))
            .build());
    jwt.sign(new RSASSASigner(key));
    return jwt.serialize();
  }

  @Test
  void serviceAccountJwt_mintsATokenThatWorksThroughEnvoy_withinItsGrantOnly()
      throws Exception {
    ControlPlaneServer restarted = null;
    try (Stack stack = new Stack()) {
      RSAKey clusterKey = new RSAKeyGenerator(2048).keyID("cluster-1").generate();
      Path jwks = Files.writeString(stack.stack.configFile().resolveSibling("k8s-jwks.json"),
          new JWKSet(clusterKey.toPublicJWK()).toString());
      ControlPlaneConfig config = ConfigFile.load(stack.stack.configFile()).controlPlane()
          .withIssuerIdentity(
              Optional.of(new WorkloadIdentity("k8s", CLUSTER, "perishable", Optional.of(jwks),
                  Optional.empty(), Duration.ofSeconds(30))),
              List.of(new IssuerGrants("k8s:system:serviceaccount:agents:*",
                  Set.of("llm:complete"), Set.of("gpt-4o-mini"), Set.of("openai"),
                  Optional.of(Duration.ofMinutes(15)), Optional.of(1))))
          .validate();
      // The same control plane (port, keys, audit log), now accepting workload identities.
      stack.stack.controlPlane().close();
      restarted = ControlPlaneServer.start(config, Clock.systemUTC());
      ControlPlaneServer server = restarted;
      Instant deadline = Instant.now().plusSeconds(30);
      while (server.syncHub().replicas().isEmpty()) {
        assertTrue(Instant.now().isBefore(deadline), "authz-service did not reconnect in 30s");
        Thread.sleep(50);
      }
      String jwt = serviceAccountToken(clusterKey);

      IssueResponse minted = stack.tokens(jwt).issue(IssueRequest.newBuilder()
          .setAgentId("summarizer-1").addScopes("llm:complete").addModels("gpt-4o-mini")
          .setMaxTokensPerRequest(64)
          .setTtl(com.google.protobuf.Duration.newBuilder().setSeconds(300)).build());

      assertEquals(200, stack.postJson("/v1/chat/completions", minted.getToken(),
          Stack.chat("gpt-4o-mini", 10)).statusCode());
      assertEquals(403, stack.postJson("/v1/embeddings", minted.getToken(),
          "{\"model\":\"gpt-4o-mini\",\"input\":\"x\"}").statusCode());
      Status refused = assertThrows(StatusRuntimeException.class,
          () -> stack.tokens(jwt).issue(IssueRequest.newBuilder().setAgentId("summarizer-1")
              .addScopes("llm:embed").addModels("gpt-4o-mini").build())).getStatus();
      assertEquals(Status.Code.PERMISSION_DENIED, refused.getCode());
      assertTrue(refused.getDescription().contains("not grantable by principal k8s:" + SUB),
          refused.getDescription());
    } finally {
      if (restarted != null) {
        restarted.close();
      }
    }
  }
}
