package io.perishable.authz.scope;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class RequestPathTest {

  @ParameterizedTest
  @MethodSource("canonicalPaths")
  void normalize_canonicalPath_ok(String raw, String path, String query) {
    assertEquals(new RequestPathResult.Ok(path, query), RequestPath.normalize(raw));
  }

  static Stream<Arguments> canonicalPaths() {
    return Stream.of(
        Arguments.of("/v1/chat/completions", "/v1/chat/completions", ""),
        Arguments.of("/v1/messages?beta=true", "/v1/messages", "beta=true"),
        Arguments.of("/v1/models?", "/v1/models", ""),
        Arguments.of("/v1/models?limit=20&after=model-1", "/v1/models", "limit=20&after=model-1"),
        Arguments.of("/v1/files?purpose=fine%2Dtune", "/v1/files", "purpose=fine%2Dtune"),
        Arguments.of("/v1/x?a=/b?c", "/v1/x", "a=/b?c"),
        Arguments.of("/", "/", ""),
        Arguments.of("/v1/chat/completions/", "/v1/chat/completions/", ""),
        Arguments.of("/V1/Chat/Completions", "/V1/Chat/Completions", ""),
        Arguments.of(
            "/v1/models/gemini-1.5:generateContent", "/v1/models/gemini-1.5:generateContent", ""),
        Arguments.of("/v1/.well-known/x", "/v1/.well-known/x", ""),
        Arguments.of("/v1/.../x", "/v1/.../x", ""),
        Arguments.of("/v1/a..b/c.", "/v1/a..b/c.", ""),
        Arguments.of("/a-b_c~d!e$f&g'h(i)j*k+l,m=n:o@p", "/a-b_c~d!e$f&g'h(i)j*k+l,m=n:o@p", ""));
  }

  @Test
  void normalize_trailingSlash_keptAsDistinctPath() {
    RequestPathResult.Ok ok =
        assertInstanceOf(
            RequestPathResult.Ok.class, RequestPath.normalize("/v1/chat/completions/"));
    assertEquals("/v1/chat/completions/", ok.path());
    assertFalse(PathPattern.compile("/v1/chat/completions").matches(ok.path()));
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "?a=b"})
  void normalize_emptyPath_rejected(String raw) {
    assertRejected(raw, "empty");
  }

  @Test
  void normalize_nullPath_rejected() {
    assertInstanceOf(RequestPathResult.Rejected.class, RequestPath.normalize(null));
  }

  @ParameterizedTest
  @ValueSource(
      strings = {"*", "v1/chat/completions", "http://api.openai.com/v1/chat/completions", " /v1"})
  void normalize_notStartingWithSlash_rejected(String raw) {
    assertRejected(raw, "start with '/'");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "/v1/chat%2Fcompletions",
        "/v1/chat%2fcompletions",
        "/v1%2Fchat/completions",
        "/v1/chat/completion%73",
        "/v1/%2e%2e/admin",
        "/v1/%252F",
        "/v1/chat/completions%00",
        "/v1/chat/completions%",
      })
  void normalize_encodedSlash_rejected(String raw) {
    assertRejected(raw, "percent-encoding");
  }

  @ParameterizedTest
  @ValueSource(strings = {"/v1\\chat/completions", "/v1/chat/completions\\", "/v1/..\\admin"})
  void normalize_backslash_rejected(String raw) {
    assertRejected(raw, "backslash");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "/v1/chat/completions;x=1",
        "/v1;/chat/completions",
        "/v1/chat;jsessionid=1/completions",
      })
  void normalize_pathParameter_rejected(String raw) {
    assertRejected(raw, "';'");
  }

  @ParameterizedTest
  @ValueSource(strings = {"/v1/chat/completions#x", "/v1/#/x", "/v1/x?a=b#frag"})
  void normalize_fragment_rejected(String raw) {
    assertRejected(raw, "'#'");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "/v1/chat/completions ",
        "/v1/chat /completions",
        "/v1/chat\t/completions",
        "/v1/chat/completions\n",
        "/v1/chat/completions\r",
        "/v1/chat/completions\u0000",
        "/v1/chat/completions\u007f",
        "/v1/chat/compl\u00e9tions",
        "/v1/chat/completions\u2024",
        "/v1/\uff0e\uff0e/admin",
        "/v1/x?q=a b",
        "/v1/x?q=\u00e9",
        "/v1/x?q=\u0001",
      })
  void normalize_controlSpaceOrNonAscii_rejected(String raw) {
    RequestPathResult.Rejected rejected = assertRejected(raw, "");
    assertTrue(
        rejected.detail().contains("space")
            || rejected.detail().contains("control")
            || rejected.detail().contains("non-ASCII"),
        rejected.detail());
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "//v1/chat/completions",
        "/v1//chat/completions",
        "/v1/chat//completions",
        "/v1/chat/completions//",
        "//",
      })
  void normalize_emptySegment_rejected(String raw) {
    assertRejected(raw, "'//'");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "/./v1/chat/completions",
        "/v1/./chat/completions",
        "/v1/../v1/chat/completions",
        "/v1/chat/completions/..",
        "/v1/chat/completions/.",
        "/..",
        "/.",
        "/v1/x/../../admin",
      })
  void normalize_dotSegment_rejected(String raw) {
    assertRejected(raw, "'.' or '..'");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "/v1/<script>",
        "/v1/\"x\"",
        "/v1/[x]",
        "/v1/a^b",
        "/v1/a`b",
        "/v1/{x}",
        "/v1/a|b",
      })
  void normalize_characterOutsideRfc3986Path_rejected(String raw) {
    assertRejected(raw, "request path contains '");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "/v1/x?a=%zz",
        "/v1/x?a=%2",
        "/v1/x?a=%",
        "/v1/x?a=b;c=d",
        "/v1/x?a=\\",
        "/v1/x?a=<b>",
        "/v1/x?a[]=1",
        "/v1/x?a={}",
        "/v1/x?a=\"b\"",
      })
  void normalize_badQuery_rejected(String raw) {
    assertRejected(raw, "query contains");
  }

  @Test
  void normalize_rejectionDetail_doesNotEchoPath() {
    String raw = "/v1/secret-token-abc/x%2F";
    RequestPathResult.Rejected rejected = assertRejected(raw, "percent-encoding");
    assertFalse(rejected.detail().contains("secret"), rejected.detail());
  }

  private static RequestPathResult.Rejected assertRejected(String raw, String detailFragment) {
    RequestPathResult result = RequestPath.normalize(raw);
    RequestPathResult.Rejected rejected =
        assertInstanceOf(RequestPathResult.Rejected.class, result, result::toString);
    assertTrue(rejected.detail().contains(detailFragment), rejected.detail());
    return rejected;
  }
}
