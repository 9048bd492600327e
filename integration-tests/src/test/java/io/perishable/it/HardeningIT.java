package io.perishable.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.perishable.fakellm.RecordedRequest;
import io.perishable.token.TokenCodec;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * An attacker holds a valid, narrow token and controls the request: path, headers, body,
 * encoding. Through a real Envoy, nothing they send may reach the provider in a form other than
 * what authz-service checked. Every refused request must also never reach the upstream.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HardeningIT {
  /** Paths the stack's llm:complete and llm:embed scopes grant. */
  private static final Set<String> GRANTED =
      Set.of("/v1/chat/completions", "/v1/completions", "/v1/messages", "/v1/embeddings");

  private Stack stack;
  private String token;
  private int port;

  @BeforeAll
  void start() {
    stack = new Stack();
    token = stack.issue().getToken();
    port = stack.stack.envoyPort();
  }

  @AfterAll
  void stop() {
    if (stack != null) {
      stack.close();
    }
  }

  @BeforeEach
  void forget() {
    stack.stack.fakeLlm().clear();
  }

  private RawHttp.Response post(String path, String extraHeaders, String body)
      throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    return RawHttp.send(port, "POST " + path + " HTTP/1.1\r\nhost: llm\r\n"
        + "content-type: application/json\r\ncontent-length: " + bytes.length
        + (extraHeaders.isEmpty() ? "" : "\r\n" + extraHeaders), bytes);
  }

  private RawHttp.Response postWithToken(String path, String body) throws IOException {
    return post(path, "authorization: Bearer " + token, body);
  }

  /** A refusal never reaches the provider and carries our reason code. */
  private void assertRefused(RawHttp.Response response, int status) {
    assertEquals(status, response.status(), response.body());
    assertTrue(stack.stack.fakeLlm().requests().isEmpty(),
        "a refused request reached the upstream: " + stack.stack.fakeLlm().requests());
  }

  /** What reached the provider is exactly what was checked, with the real key only. */
  private RecordedRequest assertForwardedAsChecked(RawHttp.Response response) {
    assertEquals(200, response.status(), response.body());
    List<RecordedRequest> seen = stack.stack.fakeLlm().requests();
    assertEquals(1, seen.size());
    RecordedRequest upstream = seen.get(0);
    assertTrue(GRANTED.contains(upstream.path().split("\\?", 2)[0]),
        "upstream saw a path no scope grants: " + upstream.path());
    assertEquals(List.of("Bearer " + stack.stack.openAiKey()),
        upstream.headerValues("authorization"));
    assertTrue(upstream.headerValues("x-api-key").isEmpty());
    assertFalse(upstream.contains("prs_"));
    for (var header : upstream.headers()) {
      assertFalse(header.getKey().startsWith("x-perishable-"),
          "internal header leaked upstream: " + header.getKey());
    }
    return upstream;
  }

  // ---- path tricks ----------------------------------------------------------------------

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {
      "/v1/embeddings/../chat/completions",
      "/v1/chat/completions/../../v1/embeddings",
      "/v1//chat//completions",
      "/v1/./chat/completions",
      "/v1/chat/completions?stream=false",
      "/v1/chat/%63ompletions",
      // Envoy canonicalizes backslashes to slashes before the check and forwards the result.
      "/v1\\chat\\completions",
  })
  void pathThatNormalizesToAGrantedPath_forwardedAsTheNormalizedPath(String path)
      throws IOException {
    RawHttp.Response response = postWithToken(path, Stack.chat("gpt-4o-mini", 10));
    if (response.status() == 200) {
      assertForwardedAsChecked(response);
    } else {
      // Refusing what we could not be sure of is also correct; letting it through is not.
      assertRefused(response, response.status());
      assertTrue(response.status() == 400 || response.status() == 403, response.body());
    }
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "/v1/chat%2Fcompletions         | 400",
      "/v1/chat%2fcompletions         | 400",
      "/v1/chat/completions%00        | 400",
      "/v1/chat/completions;v=1       | 400",
      "/V1/Chat/Completions           | 403",
      "/v1/chat/completions/          | 403",
      "/v1/chat/completions.json      | 403",
      "/v1/images/generations         | 403",
      "/v1/chat/completions/../../admin | 403",
  })
  void pathOutsideTheGrantOrNotCanonical_refusedBeforeTheUpstream(String path, int status)
      throws IOException {
    // No body: the path is judged first, and Envoy closes at once on paths it rejects itself
    // (a body still in flight would turn its 400 into a connection reset).
    RawHttp.Response response = RawHttp.send(port, "POST " + path + " HTTP/1.1\r\nhost: llm\r\n"
        + "authorization: Bearer " + token + "\r\ncontent-length: 0", new byte[0]);
    assertRefused(response, status);
  }

  // ---- header games ---------------------------------------------------------------------

  @Test
  void tokenInBothCredentialHeaders_refused() throws IOException {
    assertRefused(post("/v1/chat/completions", "authorization: Bearer " + token
        + "\r\nx-api-key: " + token, Stack.chat("gpt-4o-mini", 10)), 401);
  }

  @Test
  void repeatedAuthorizationHeader_refused() throws IOException {
    assertRefused(post("/v1/chat/completions", "authorization: Bearer " + token
        + "\r\nauthorization: Bearer sk-attacker", Stack.chat("gpt-4o-mini", 10)), 401);
  }

  @Test
  void clientRoutingHeader_refused() throws IOException {
    assertRefused(post("/v1/chat/completions", "authorization: Bearer " + token
        + "\r\nx-perishable-upstream: anthropic", Stack.chat("gpt-4o-mini", 10)), 400);
  }

  @Test
  void hopByHopConnectionHeaderNamingTheCredential_stillForwardsTheRealKey()
      throws IOException {
    // "Connection: authorization" asks a proxy to drop the (swapped-in) credential.
    RawHttp.Response response = RawHttp.send(port, "POST /v1/chat/completions HTTP/1.1\r\n"
        + "host: llm\r\ncontent-type: application/json\r\nauthorization: Bearer " + token
        + "\r\ncontent-length: " + Stack.chat("gpt-4o-mini", 10).length()
        + "\r\nconnection: authorization", Stack.chat("gpt-4o-mini", 10));
    if (response.status() == 200) {
      assertForwardedAsChecked(response);
    } else {
      assertRefused(response, response.status());
    }
  }

  @Test
  void tokenInXApiKeyToOpenAiUpstream_xApiKeyRemovedAndBearerSet() throws IOException {
    assertForwardedAsChecked(post("/v1/chat/completions", "x-api-key: " + token,
        Stack.chat("gpt-4o-mini", 10)));
  }

  // ---- bodies the provider could read differently ---------------------------------------

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
      "nested duplicate     | `{\"model\":\"gpt-4o-mini\",\"max_tokens\":10,\"messages\":[{\"role\":\"user\",\"role\":\"system\",\"content\":\"x\"}]}`",
      "escaped duplicate    | `{\"model\":\"gpt-4o-mini\",\"max_tokens\":10,\"m\\u006fdel\":\"gpt-4o\"}`",
      "comment              | `{\"model\":\"gpt-4o-mini\",/*x*/\"max_tokens\":10}`",
      "trailing object      | `{\"model\":\"gpt-4o-mini\",\"max_tokens\":10}{\"model\":\"gpt-4o\"}`",
      "float max_tokens     | `{\"model\":\"gpt-4o-mini\",\"max_tokens\":1e2}`",
      "string max_tokens    | `{\"model\":\"gpt-4o-mini\",\"max_tokens\":\"10\"}`",
      "negative max_tokens  | `{\"model\":\"gpt-4o-mini\",\"max_tokens\":-1}`",
      "upper-case MODEL     | `{\"model\":\"gpt-4o-mini\",\"max_tokens\":10,\"MODEL\":\"gpt-4o\"}`",
      "single quotes        | `{'model':'gpt-4o-mini','max_tokens':10}`",
      "top-level array      | `[{\"model\":\"gpt-4o-mini\",\"max_tokens\":10}]`",
  })
  void bodyWithAnAmbiguousReading_refused400(String name, String body) throws IOException {
    assertRefused(postWithToken("/v1/chat/completions", body), 400);
  }

  @Test
  void deeplyNestedBody_refused400() throws IOException {
    String body = "{\"model\":\"gpt-4o-mini\",\"max_tokens\":10,\"x\":" + "[".repeat(5000)
        + "]".repeat(5000) + "}";
    assertRefused(postWithToken("/v1/chat/completions", body), 400);
  }

  @Test
  void invalidUtf8Body_refused400() throws IOException {
    byte[] prefix = "{\"model\":\"gpt-4o-mini\",\"max_tokens\":10,\"x\":\""
        .getBytes(StandardCharsets.UTF_8);
    byte[] body = new byte[prefix.length + 4];
    System.arraycopy(prefix, 0, body, 0, prefix.length);
    body[prefix.length] = (byte) 0xC0; // overlong encoding of '/'
    body[prefix.length + 1] = (byte) 0xAF;
    body[prefix.length + 2] = '"';
    body[prefix.length + 3] = '}';
    assertRefused(RawHttp.send(port, "POST /v1/chat/completions HTTP/1.1\r\nhost: llm\r\n"
        + "content-type: application/json\r\nauthorization: Bearer " + token
        + "\r\ncontent-length: " + body.length, body), 400);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "content-encoding: gzip       | 415",
      "content-encoding: identity, gzip | 415",
      "content-type: text/plain     | 415",
  })
  void bodyEncodingWeDoNotInspect_refused(String header, int status) throws IOException {
    String body = Stack.chat("gpt-4o-mini", 10);
    String head = "POST /v1/chat/completions HTTP/1.1\r\nhost: llm\r\nauthorization: Bearer "
        + token + "\r\ncontent-length: " + body.length() + "\r\n" + header
        + (header.startsWith("content-type") ? "" : "\r\ncontent-type: application/json");
    assertRefused(RawHttp.send(port, head, body), status);
  }

  @Test
  void chunkedBodyWithoutLength_inspectedWholeAndForwarded() throws IOException {
    String body = Stack.chat("gpt-4o-mini", 10);
    String half = body.substring(0, body.length() / 2);
    String rest = body.substring(body.length() / 2);
    String chunked = Integer.toHexString(half.length()) + "\r\n" + half + "\r\n"
        + Integer.toHexString(rest.length()) + "\r\n" + rest + "\r\n0\r\n\r\n";
    RawHttp.Response response = RawHttp.send(port, "POST /v1/chat/completions HTTP/1.1\r\n"
        + "host: llm\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n"
        + "authorization: Bearer " + token, chunked);
    RecordedRequest upstream = assertForwardedAsChecked(response);
    assertEquals(body, upstream.bodyText());
  }

  @Test
  void chunkedBodyHidingADisallowedModel_refused() throws IOException {
    String body = "{\"model\":\"gpt-4o-mini\",\"max_tokens\":10,\"model\":\"gpt-4o\"}";
    String chunked = Integer.toHexString(body.length()) + "\r\n" + body + "\r\n0\r\n\r\n";
    assertRefused(RawHttp.send(port, "POST /v1/chat/completions HTTP/1.1\r\nhost: llm\r\n"
        + "content-type: application/json\r\ntransfer-encoding: chunked\r\n"
        + "authorization: Bearer " + token, chunked), 400);
  }

  @Test
  void http2PriorKnowledge_sameChecks() throws Exception {
    var h2 = java.net.http.HttpClient.newBuilder()
        .version(java.net.http.HttpClient.Version.HTTP_2).build();
    // java.net.http upgrades from HTTP/1.1 (h2c Upgrade); Envoy's AUTO codec accepts either.
    var ok = h2.send(stack.to("/v1/chat/completions")
        .header("authorization", "Bearer " + token).header("content-type", "application/json")
        .POST(java.net.http.HttpRequest.BodyPublishers.ofString(Stack.chat("gpt-4o-mini", 10)))
        .build(), java.net.http.HttpResponse.BodyHandlers.ofString());
    assertEquals(200, ok.statusCode(), ok.body());
    var denied = h2.send(stack.to("/v1/chat/completions")
        .header("authorization", "Bearer " + token).header("content-type", "application/json")
        .POST(java.net.http.HttpRequest.BodyPublishers.ofString(Stack.chat("gpt-4o", 10)))
        .build(), java.net.http.HttpResponse.BodyHandlers.ofString());
    assertEquals(403, denied.statusCode(), denied.body());
  }

  // ---- token games ----------------------------------------------------------------------

  @Test
  void tokenVariants_allRefused401() throws IOException {
    String claims = token.substring(4, token.indexOf('.'));
    String signature = token.substring(token.indexOf('.') + 1);
    byte[] claimBytes = Base64.getUrlDecoder().decode(claims);
    String padded = "prs_" + Base64.getUrlEncoder().encodeToString(claimBytes) + "."
        + signature;
    List<String> variants = List.of(
        token.substring(0, token.length() - 2),
        token + "==",
        token.replace("prs_", "PRS_"),
        token.replace("prs_", "prs-"),
        "prs_" + claims,
        padded.equals(token) ? token + "=" : padded,
        token + "." + signature,
        token.toUpperCase(Locale.ROOT));
    for (String variant : variants) {
      RawHttp.Response response = post("/v1/chat/completions", "authorization: Bearer "
          + variant, Stack.chat("gpt-4o-mini", 10));
      assertEquals(401, response.status(), "variant accepted: " + response.body());
      assertNotNull(response.header("www-authenticate"));
    }
    assertTrue(stack.stack.fakeLlm().requests().isEmpty());
  }

  @Test
  void claimsWidenedUnderTheOriginalSignature_refused401() throws IOException {
    var claims = TokenCodec.decode(token).claims().toBuilder().clearModels()
        .setMaxTokensPerRequest(0).build();
    String widened = "prs_" + Base64.getUrlEncoder().withoutPadding()
        .encodeToString(claims.toByteArray()) + token.substring(token.indexOf('.'));
    RawHttp.Response response = post("/v1/chat/completions", "authorization: Bearer " + widened,
        Stack.chat("gpt-4o", 100000));
    assertRefused(response, 401);
    assertTrue(response.body().contains("token_bad_signature"), response.body());
  }
}
