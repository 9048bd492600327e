package io.perishable.fakellm;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class RecordedRequestTest {

  private static final RecordedRequest SAMPLE =
      new RecordedRequest(
          "POST",
          "/v1/chat/completions?trace=q-needle",
          List.of(
              Map.entry("Authorization", "Bearer sk-real"),
              Map.entry("X-Name-Needle", "plain"),
              Map.entry("x-tag", "first"),
              Map.entry("X-Tag", "second value-needle")),
          "{\"messages\":\"body-needle \u00e9\"}".getBytes(UTF_8));

  @Test
  void headers_namesLowerCased_orderAndRepeatsKept() {
    assertEquals(
        List.of(
            Map.entry("authorization", "Bearer sk-real"),
            Map.entry("x-name-needle", "plain"),
            Map.entry("x-tag", "first"),
            Map.entry("x-tag", "second value-needle")),
        SAMPLE.headers());
  }

  @Test
  void headerValues_matchesNameCaseInsensitively_inArrivalOrder() {
    assertEquals(List.of("first", "second value-needle"), SAMPLE.headerValues("X-TAG"));
    assertEquals(List.of(), SAMPLE.headerValues("x-api-key"));
  }

  @Test
  void header_returnsFirstValue_orEmptyWhenAbsent() {
    assertEquals(Optional.of("first"), SAMPLE.header("x-tag"));
    assertEquals(Optional.empty(), SAMPLE.header("anthropic-version"));
  }

  @Test
  void bodyText_decodesUtf8() {
    assertEquals("{\"messages\":\"body-needle \u00e9\"}", SAMPLE.bodyText());
  }

  @ParameterizedTest
  @ValueSource(strings = {"q-needle", "name-needle", "value-needle", "body-needle", "sk-real"})
  void contains_findsNeedleInPathHeaderNameHeaderValueOrBody(String needle) {
    assertTrue(SAMPLE.contains(needle));
  }

  @Test
  void contains_absentNeedle_false() {
    assertFalse(SAMPLE.contains("prs_"));
  }

  @Test
  void contains_findsNeedleInBodyThatIsNotValidUtf8() {
    byte[] body = {(byte) 0xff, 'p', 'r', 's', '_', (byte) 0xc3};
    RecordedRequest binary = new RecordedRequest("POST", "/", List.of(), body);

    assertTrue(binary.contains("prs_"));
  }

  @Test
  void components_areCopied_soCallersCannotRewriteHistory() {
    byte[] body = "original".getBytes(UTF_8);
    List<Map.Entry<String, String>> headers = new ArrayList<>(List.of(Map.entry("a", "1")));
    RecordedRequest recorded = new RecordedRequest("POST", "/", headers, body);

    body[0] = 'X';
    headers.add(Map.entry("b", "2"));
    recorded.body()[0] = 'Y';

    assertEquals("original", recorded.bodyText());
    assertEquals(1, recorded.headers().size());
  }

  @Test
  void equals_comparesBodyByContent() {
    RecordedRequest same =
        new RecordedRequest("POST", SAMPLE.path(), SAMPLE.headers(), SAMPLE.body());
    RecordedRequest otherBody =
        new RecordedRequest("POST", SAMPLE.path(), SAMPLE.headers(), new byte[] {1});

    assertEquals(SAMPLE, same);
    assertEquals(SAMPLE.hashCode(), same.hashCode());
    assertNotEquals(SAMPLE, otherBody);
    assertArrayEquals(SAMPLE.body(), same.body());
  }
}
