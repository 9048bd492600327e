package io.perishable.authz.scope;

import static io.perishable.authz.scope.ScopeDefinitionTest.scope;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class ScopeCatalogTest {

  private static final ScopeDefinition COMPLETE =
      scope(
          "llm:complete",
          Set.of("POST"),
          "/v1/chat/completions",
          "/v1/completions",
          "/v1/messages");
  private static final ScopeDefinition EMBED = scope("llm:embed", Set.of("POST"), "/v1/embeddings");
  private static final ScopeDefinition MODELS = scope("llm:models", Set.of("GET"), "/v1/models/**");
  private static final ScopeDefinition ANY_V1 = scope("llm:any", Set.of("GET", "POST"), "/v1/**");

  private static final ScopeCatalog CATALOG =
      new ScopeCatalog(List.of(COMPLETE, EMBED, MODELS, ANY_V1));

  @Test
  void constructor_duplicateName_throws() {
    ScopeDefinition other = scope("llm:embed", Set.of("GET"), "/v1/other");
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> new ScopeCatalog(List.of(EMBED, other)));
    assertTrue(e.getMessage().contains("duplicate scope name 'llm:embed'"), e.getMessage());
  }

  @Test
  void constructor_nullScope_throws() {
    assertThrows(NullPointerException.class, () -> new ScopeCatalog(Arrays.asList(EMBED, null)));
  }

  @Test
  void constructor_copiesInput() {
    List<ScopeDefinition> scopes = new ArrayList<>(List.of(EMBED));
    ScopeCatalog catalog = new ScopeCatalog(scopes);
    scopes.add(COMPLETE);
    assertEquals(Set.of("llm:embed"), catalog.names());
  }

  @Test
  void names_inCatalogOrder_unmodifiable() {
    assertEquals(
        List.of("llm:complete", "llm:embed", "llm:models", "llm:any"),
        new ArrayList<>(CATALOG.names()));
    assertThrows(UnsupportedOperationException.class, () -> CATALOG.names().remove("llm:embed"));
  }

  @Test
  void get_knownAndUnknownNames() {
    assertEquals(Optional.of(EMBED), CATALOG.get("llm:embed"));
    assertEquals(Optional.empty(), CATALOG.get("llm:nope"));
    assertEquals(Optional.empty(), CATALOG.get(null));
  }

  @ParameterizedTest(name = "{0} {1} {2} -> {3}")
  @MethodSource("matchCases")
  void match_firstGrantedScopeThatMatches(
      List<String> granted, String method, String path, Optional<ScopeDefinition> expected) {
    assertEquals(expected, CATALOG.match(granted, method, path));
  }

  static Stream<Arguments> matchCases() {
    return Stream.of(
        Arguments.of(
            List.of("llm:complete"), "POST", "/v1/chat/completions", Optional.of(COMPLETE)),
        Arguments.of(
            List.of("llm:embed", "llm:complete"), "POST", "/v1/messages", Optional.of(COMPLETE)),
        // Grant order decides, not catalog order.
        Arguments.of(
            List.of("llm:any", "llm:complete"), "POST", "/v1/messages", Optional.of(ANY_V1)),
        Arguments.of(
            List.of("llm:complete", "llm:any"), "POST", "/v1/messages", Optional.of(COMPLETE)),
        Arguments.of(List.of("llm:models"), "GET", "/v1/models/gpt-4o", Optional.of(MODELS)),
        Arguments.of(List.of("llm:models"), "GET", "/v1/models", Optional.of(MODELS)));
  }

  @Test
  void match_methodNotGranted_empty() {
    assertEquals(
        Optional.empty(), CATALOG.match(List.of("llm:complete"), "GET", "/v1/chat/completions"));
    assertEquals(
        Optional.empty(), CATALOG.match(List.of("llm:models"), "POST", "/v1/models/gpt-4o"));
    assertEquals(
        Optional.empty(), CATALOG.match(List.of("llm:models"), "HEAD", "/v1/models/gpt-4o"));
  }

  @Test
  void match_pathNotGranted_empty() {
    assertEquals(Optional.empty(), CATALOG.match(List.of("llm:embed"), "POST", "/v1/messages"));
    assertEquals(Optional.empty(), CATALOG.match(List.of("llm:complete"), "POST", "/v1/messages/"));
    assertEquals(Optional.empty(), CATALOG.match(List.of("llm:complete"), "POST", "/V1/Messages"));
  }

  @Test
  void match_unknownScopeNamesIgnored() {
    assertEquals(
        Optional.of(EMBED),
        CATALOG.match(List.of("llm:nope", "LLM:EMBED", "llm:embed"), "POST", "/v1/embeddings"));
    assertEquals(Optional.empty(), CATALOG.match(List.of("llm:nope"), "POST", "/v1/embeddings"));
    assertEquals(
        Optional.of(EMBED),
        CATALOG.match(Arrays.asList(null, "llm:embed"), "POST", "/v1/embeddings"));
  }

  @Test
  void match_noGrants_empty() {
    assertEquals(Optional.empty(), CATALOG.match(List.of(), "POST", "/v1/embeddings"));
    assertEquals(
        Optional.empty(),
        new ScopeCatalog(List.of()).match(List.of("llm:embed"), "POST", "/v1/embeddings"));
  }

  @Test
  void match_nonCanonicalPath_empty() {
    for (String path :
        List.of(
            "/v1/embeddings/../messages",
            "/v1/%65mbeddings",
            "/v1//embeddings",
            "/v1/embeddings?x=1",
            "/v1/embeddings;x",
            "v1/embeddings")) {
      assertEquals(Optional.empty(), CATALOG.match(List.of("llm:any"), "POST", path), path);
    }
  }

  @Test
  void match_normalizedRequestPath_endToEnd() {
    RequestPathResult result = RequestPath.normalize("/v1/messages?beta=true");
    RequestPathResult.Ok ok = (RequestPathResult.Ok) result;
    assertEquals(Optional.of(COMPLETE), CATALOG.match(List.of("llm:complete"), "POST", ok.path()));
  }
}
