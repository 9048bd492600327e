package io.perishable.authz.scope;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class PathPatternTest {

  @ParameterizedTest(name = "{0} matches {1}: {2}")
  @MethodSource("globSemantics")
  void matches_globSemantics(String glob, String path, boolean expected) {
    assertEquals(expected, PathPattern.compile(glob).matches(path));
  }

  static Stream<Arguments> globSemantics() {
    return Stream.of(
        // Literal: exact, whole path, case-sensitive, trailing slash significant.
        Arguments.of("/v1/chat/completions", "/v1/chat/completions", true),
        Arguments.of("/v1/chat/completions", "/v1/chat/completions/", false),
        Arguments.of("/v1/chat/completions", "/v1/chat", false),
        Arguments.of("/v1/chat/completions", "/v1/chat/completions/x", false),
        Arguments.of("/v1/chat/completions", "/v1/chat/completionsx", false),
        Arguments.of("/v1/chat/completions", "/V1/Chat/Completions", false),
        Arguments.of("/v1/chat/completions", "/v2/chat/completions", false),
        Arguments.of("/v1/chat/completions", "/", false),
        // '*': exactly one non-empty segment.
        Arguments.of("/v1/*/completions", "/v1/chat/completions", true),
        Arguments.of("/v1/*/completions", "/v1/x/completions", true),
        Arguments.of("/v1/*/completions", "/v1/completions", false),
        Arguments.of("/v1/*/completions", "/v1/a/b/completions", false),
        Arguments.of("/v1/*", "/v1/models", true),
        Arguments.of("/v1/*", "/v1", false),
        Arguments.of("/v1/*", "/v1/", false),
        Arguments.of("/v1/*", "/v1/models/x", false),
        Arguments.of("/*", "/v1", true),
        Arguments.of("/*", "/", false),
        // '**': zero or more segments, including a trailing empty one.
        Arguments.of("/v1/**", "/v1", true),
        Arguments.of("/v1/**", "/v1/", true),
        Arguments.of("/v1/**", "/v1/models", true),
        Arguments.of("/v1/**", "/v1/a/b/c", true),
        Arguments.of("/v1/**", "/v1/a/b/", true),
        Arguments.of("/v1/**", "/v10", false),
        Arguments.of("/v1/**", "/v10/models", false),
        Arguments.of("/v1/**", "/v2/models", false),
        Arguments.of("/v1/**", "/", false),
        Arguments.of("/**", "/", true),
        Arguments.of("/**", "/anything/at/all", true),
        Arguments.of("/v1/**/completions", "/v1/completions", true),
        Arguments.of("/v1/**/completions", "/v1/chat/completions", true),
        Arguments.of("/v1/**/completions", "/v1/a/b/c/completions", true),
        Arguments.of("/v1/**/completions", "/v1/completions/x", false),
        Arguments.of("/v1/**/completions", "/v1/completions/", false),
        Arguments.of("/v1/**/completions", "/v1/a/completions/completions", true),
        Arguments.of("/**/completions", "/v1/chat/completions", true),
        Arguments.of("/**/completions", "/completions", true),
        Arguments.of("/**/completions", "/v1/chat/completion", false),
        Arguments.of("/v1/**/a/*/b/**", "/v1/x/a/y/b", true),
        Arguments.of("/v1/**/a/*/b/**", "/v1/a/a/a/b/z", true),
        Arguments.of("/v1/**/a/*/b/**", "/v1/a/b", false),
        Arguments.of("/v1/*/**", "/v1", false),
        Arguments.of("/v1/*/**", "/v1/x", true),
        Arguments.of("/v1/*/**", "/v1/x/y/z", true));
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "/v1/../admin",
        "/v1/./models",
        "/v1//models",
        "/v1/models?x=1",
        "/v1/%2e%2e/admin",
        "/v1/models;x",
        "v1/models",
        "",
      })
  void matches_nonCanonicalPath_neverMatches(String path) {
    assertFalse(PathPattern.compile("/**").matches(path));
    assertFalse(PathPattern.compile("/v1/**").matches(path));
  }

  @Test
  void matches_nullPath_false() {
    assertFalse(PathPattern.compile("/**").matches(null));
  }

  @Test
  void matches_manySegmentsAgainstManyWildcards_fast() {
    String path = "/a".repeat(20_000) + "/c";
    PathPattern pattern = PathPattern.compile("/**/a/**/a/**/a/**/b");
    assertTimeoutPreemptively(Duration.ofSeconds(5), () -> assertFalse(pattern.matches(path)));
    assertTrue(PathPattern.compile("/**/a/**/a/**/a/**/c").matches(path));
  }

  @ParameterizedTest(name = "[{index}] \"{0}\"")
  @MethodSource("badGlobs")
  void compile_badGlob_throwsWithSpecificMessage(String glob, String messageFragment) {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> PathPattern.compile(glob));
    assertTrue(e.getMessage().contains(messageFragment), e.getMessage());
  }

  static Stream<Arguments> badGlobs() {
    return Stream.of(
        Arguments.of("", "must not be empty"),
        Arguments.of("v1/chat/completions", "must start with '/'"),
        Arguments.of("*/v1", "must start with '/'"),
        Arguments.of("/", "empty segment"),
        Arguments.of("/v1//chat", "empty segment"),
        Arguments.of("/v1/chat/", "empty segment"),
        Arguments.of("//v1", "empty segment"),
        Arguments.of("/v1/**foo", "'**' must be a whole segment"),
        Arguments.of("/v1/foo**", "'**' must be a whole segment"),
        Arguments.of("/v1/***", "'**' must be a whole segment"),
        Arguments.of("/v1/chat*", "'*' must be a whole segment"),
        Arguments.of("/v1/*chat", "'*' must be a whole segment"),
        Arguments.of("/v1/c*t", "'*' must be a whole segment"),
        Arguments.of("/v1/**/**", "two '**' segments in a row"),
        Arguments.of("/v1/./chat", "'.' or '..' segment"),
        Arguments.of("/v1/../chat", "'.' or '..' segment"),
        Arguments.of("/v1/chat?x=1", "character that cannot occur"),
        Arguments.of("/v1/chat%2Fcompletions", "character that cannot occur"),
        Arguments.of("/v1/chat;x", "character that cannot occur"),
        Arguments.of("/v1/chat#x", "character that cannot occur"),
        Arguments.of("/v1/chat\\x", "character that cannot occur"),
        Arguments.of("/v1/chat completions", "character that cannot occur"),
        Arguments.of("/v1/compl\u00e9tions", "character that cannot occur"));
  }

  @Test
  void compile_nullGlob_throwsNullPointer() {
    assertThrows(NullPointerException.class, () -> PathPattern.compile(null));
  }

  @Test
  void toString_returnsGlob_andEqualityIsByGlob() {
    PathPattern pattern = PathPattern.compile("/v1/*/completions");
    assertEquals("/v1/*/completions", pattern.toString());
    assertEquals(PathPattern.compile("/v1/*/completions"), pattern);
    assertEquals(PathPattern.compile("/v1/*/completions").hashCode(), pattern.hashCode());
    assertNotEquals(PathPattern.compile("/v1/**/completions"), pattern);
  }
}
