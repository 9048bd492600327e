package io.perishable.authz.scope;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class ScopeDefinitionTest {

  private static final ScopeDefinition COMPLETE =
      scope(
          "llm:complete",
          Set.of("POST"),
          "/v1/chat/completions",
          "/v1/completions",
          "/v1/messages");

  @ParameterizedTest
  @ValueSource(
      strings = {
        "llm:complete",
        "a",
        "0",
        "llm.embed",
        "team-a_b:x.y",
        "9to5",
        "a123456789b123456789c123456789d123456789e123456789f123456789abcd"
      })
  void constructor_validName_accepted(String name) {
    assertEquals(name, scope(name, Set.of("POST"), "/v1/**").name());
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "",
        "LLM:complete",
        "Llm",
        ":complete",
        "-x",
        "_x",
        ".x",
        "llm complete",
        "llm/complete",
        "llm*",
        "llm:compl\u00e9te",
        "llm:complete\n",
      })
  void constructor_malformedName_throws(String name) {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> scope(name, Set.of("POST"), "/v1/**"));
    assertTrue(e.getMessage().contains("must match"), e.getMessage());
  }

  @Test
  void constructor_nameLongerThan64_throws() {
    assertThrows(
        IllegalArgumentException.class, () -> scope("a".repeat(65), Set.of("POST"), "/v1/**"));
  }

  @Test
  void constructor_noMethods_throws() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> scope("x", Set.of(), "/v1/**"));
    assertTrue(e.getMessage().contains("at least one method"), e.getMessage());
  }

  @ParameterizedTest
  @ValueSource(strings = {"post", "Post", "", "PO ST", "GET,POST", "M-SEARCH", "POST\n", "P0ST"})
  void constructor_methodNotUpperCaseToken_throws(String method) {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> scope("x", Set.of(method), "/v1/**"));
    assertTrue(e.getMessage().contains("upper-case token"), e.getMessage());
  }

  @Test
  void constructor_noPaths_throws() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> scope("x", Set.of("POST")));
    assertTrue(e.getMessage().contains("at least one path glob"), e.getMessage());
  }

  @Test
  void constructor_copiesCollections() {
    Set<String> methods = new HashSet<>(Set.of("POST"));
    List<PathPattern> paths = new ArrayList<>(List.of(PathPattern.compile("/v1/messages")));
    ScopeDefinition scope = new ScopeDefinition("x", methods, paths, Optional.empty());
    methods.add("DELETE");
    paths.add(PathPattern.compile("/**"));
    assertFalse(scope.matches("DELETE", "/v1/messages"));
    assertFalse(scope.matches("POST", "/admin"));
    assertThrows(UnsupportedOperationException.class, () -> scope.methods().add("GET"));
    assertThrows(UnsupportedOperationException.class, () -> scope.paths().clear());
  }

  @ParameterizedTest(name = "{0} {1}: {2}")
  @MethodSource("requests")
  void matches_methodAndPath(String method, String path, boolean expected) {
    assertEquals(expected, COMPLETE.matches(method, path));
  }

  static Stream<Arguments> requests() {
    return Stream.of(
        Arguments.of("POST", "/v1/chat/completions", true),
        Arguments.of("POST", "/v1/completions", true),
        Arguments.of("POST", "/v1/messages", true),
        Arguments.of("GET", "/v1/chat/completions", false),
        Arguments.of("post", "/v1/chat/completions", false),
        Arguments.of("PUT", "/v1/messages", false),
        Arguments.of("POST", "/v1/embeddings", false),
        Arguments.of("POST", "/v1/messages/", false),
        Arguments.of("POST", "/v1/messages/batches", false),
        Arguments.of("POST", "/v1/x/../messages", false),
        Arguments.of("POST", "/v1/messages?beta=true", false),
        Arguments.of(null, "/v1/messages", false),
        Arguments.of("POST", null, false));
  }

  @Test
  void rateLimit_keptAsGiven() {
    RateLimit limit = RateLimit.parse("100/minute");
    ScopeDefinition scope =
        new ScopeDefinition(
            "llm:embed",
            Set.of("POST"),
            List.of(PathPattern.compile("/v1/embeddings")),
            Optional.of(limit));
    assertEquals(Optional.of(limit), scope.rateLimit());
  }

  static ScopeDefinition scope(String name, Set<String> methods, String... globs) {
    List<PathPattern> paths = new ArrayList<>();
    for (String glob : globs) {
      paths.add(PathPattern.compile(glob));
    }
    return new ScopeDefinition(name, methods, paths, Optional.empty());
  }
}
