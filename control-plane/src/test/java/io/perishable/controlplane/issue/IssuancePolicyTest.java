package io.perishable.controlplane.issue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.google.protobuf.Duration;
import io.perishable.controlplane.TestConfigs;
import io.perishable.proto.v1.IssueRequest;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class IssuancePolicyTest {
  private final IssuancePolicy policy =
      new IssuancePolicy(TestConfigs.controlPlane(Path.of("/nonexistent")));

  private static IssueRequest.Builder request() {
    return IssueRequest.newBuilder().setAgentId("agent-1").addScopes("llm:complete");
  }

  private static Duration seconds(long s) {
    return Duration.newBuilder().setSeconds(s).build();
  }

  private String rejection(IssueRequest.Builder request) {
    return assertThrows(IssueRejectedException.class, () -> policy.decide(request.build()))
        .getMessage();
  }

  @Test
  void decide_noTtl_getsDefaultAndDefaultUpstream() {
    IssuancePolicy.Decision d = policy.decide(request().build());
    assertEquals(java.time.Duration.ofMinutes(15), d.ttl());
    assertEquals("openai", d.grant().getUpstream());
    assertEquals(List.of("llm:complete"), d.grant().getScopesList());
  }

  @Test
  void decide_ttlOverMax_rejectedNamingTheLimit() {
    assertEquals("ttl 2h exceeds max_ttl 1h", rejection(request().setTtl(seconds(7200))));
  }

  @Test
  void decide_ttlOverScopeMax_rejectedNamingScope() {
    assertEquals("ttl 45m exceeds max_ttl 30m for scope llm:embed",
        rejection(request().addScopes("llm:embed").setTtl(seconds(2700))));
  }

  @Test
  void decide_noTtlWithTighterScope_defaultsToScopeLimit() {
    IssueRequest r = IssueRequest.newBuilder().setAgentId("a").addScopes("llm:embed").build();
    // default 15m is within llm:embed's 30m
    assertEquals(java.time.Duration.ofMinutes(15), policy.decide(r).ttl());
  }

  @Test
  void decide_ttlAtMax_accepted() {
    assertEquals(java.time.Duration.ofHours(1),
        policy.decide(request().setTtl(seconds(3600)).build()).ttl());
  }

  @Test
  void decide_duplicateScopesAndModels_deduplicatedInOrder() {
    IssuancePolicy.Decision d = policy.decide(request().addScopes("llm:complete")
        .addModels("b").addModels("a").addModels("b").build());
    assertEquals(List.of("llm:complete"), d.grant().getScopesList());
    assertEquals(List.of("b", "a"), d.grant().getModelsList());
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "empty agent      | ''            | llm:complete | openai   | 60   | agent_id is required",
      "bad agent        | 'a b'         | llm:complete | openai   | 60   | agent_id must be 1-128 characters of [A-Za-z0-9._:@/-]",
      "unknown scope    | agent         | llm:admin    | openai   | 60   | scopes: unknown scope 'llm:admin'; known scopes: llm:complete, llm:embed",
      "unknown upstream | agent         | llm:complete | azure    | 60   | upstream: unknown upstream 'azure'; known upstreams: [anthropic, openai]",
      "zero ttl         | agent         | llm:complete | openai   | 0    | ttl 0s is below the minimum 1s",
      "negative ttl     | agent         | llm:complete | openai   | -5   | ttl -5s is below the minimum 1s",
  })
  void decide_badField_rejectedWithSpecificMessage(
      String name, String agent, String scope, String upstream, long ttl, String message) {
    IssueRequest.Builder r = IssueRequest.newBuilder().setAgentId(agent).addScopes(scope)
        .setUpstream(upstream).setTtl(seconds(ttl));
    assertEquals(message, rejection(r));
  }

  @Test
  void decide_noScopes_rejectedListingKnownScopes() {
    assertEquals("scopes: at least one scope is required; known scopes: llm:complete, llm:embed",
        rejection(IssueRequest.newBuilder().setAgentId("a")));
  }

  @Test
  void decide_badLabel_rejected() {
    assertEquals("labels: key must be 1-64 characters of [a-z0-9_.-] starting with a letter or "
        + "digit", rejection(request().putLabels("Team", "x")));
    assertEquals("labels: value of 'team' must be at most 64 printable ASCII characters",
        rejection(request().putLabels("team", "x\n")));
  }

  @Test
  void decide_unprintableScope_notEchoed() {
    assertEquals("scopes: unknown scope '(unprintable or too long)'; known scopes: "
        + "llm:complete, llm:embed", rejection(request().addScopes("\u0000evil")));
  }
}
