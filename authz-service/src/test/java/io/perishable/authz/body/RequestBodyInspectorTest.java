package io.perishable.authz.body;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class RequestBodyInspectorTest {

  private static final RequestBodyInspector INSPECTOR =
      new RequestBodyInspector(RequestBodyInspector.DEFAULT_MAX_DEPTH);

  private static final String[] COUNT_FIELDS = {"max_tokens", "max_completion_tokens", "n"};

  // ---- empty, top level, syntax ----

  @Test
  void inspect_emptyBody_rejectedEmpty() {
    assertRejected(INSPECTOR.inspect(new byte[0]), BodyProblem.EMPTY);
  }

  @ParameterizedTest
  @ValueSource(strings = {" ", "\n", "\t\r\n  ", "    \n\n"})
  void inspect_whitespaceOnly_rejectedEmpty(String body) {
    assertRejected(inspect(body), BodyProblem.EMPTY);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "[]",
        "[{\"model\":\"gpt-4o\"}]",
        "\"model\"",
        "42",
        "-1.5",
        "true",
        "null",
        " [",
        "["
      })
  void inspect_topLevelNotObject_rejectedNotAnObject(String body) {
    assertRejected(inspect(body), BodyProblem.NOT_AN_OBJECT);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "{\"model\":\"gpt-4o\" // comment\n}",
        "{\"model\":\"gpt-4o\" /* comment */}",
        "/* comment */{}",
        "# yaml comment\n{}",
        "{'model':'gpt-4o'}",
        "{\"model\":'gpt-4o'}",
        "{model:\"gpt-4o\"}",
        "{\"a\":NaN}",
        "{\"a\":Infinity}",
        "{\"a\":-Infinity}",
        "{\"a\":01}",
        "{\"a\":-01}",
        "{\"a\":+1}",
        "{\"a\":.5}",
        "{\"a\":1.}",
        "{\"a\":1e}",
        "{\"a\":1,}",
        "{\"a\":[1,2,]}",
        "{\"a\":[1,,2]}",
        "{\"a\":[,1]}",
        "{,}",
        "{\"a\":}",
        "{\"a\" 1}",
        "{\"a\":1 \"b\":2}",
        "{\"a\":tru}",
        "{\"a\":True}",
        "{\"a\":undefined}",
        "{\"a\":\"tab\tinside\"}",
        "{\"a\":\"newline\ninside\"}",
        "{\"a\":\"\\x41\"}",
        "{\"a\":\"\\'\"}",
        "{\"a\":\"\\u12\"}",
        "{\"a\":\"\\u12G4\"}",
        "\u001e{}",
        "\f{}",
        "\u000b{}",
        "x{}",
        // Violations nested in skipped subtrees are still found.
        "{\"messages\":[{\"role\":'user'}]}",
        "{\"messages\":[{\"content\":[1,2,],\"role\":\"user\"}]}",
        "{\"tools\":{\"a\":{\"b\":[NaN]}}}",
        "{\"tools\":{\"a\":{\"b\":[\"bad \\q escape\"]}}}",
        "{\"tools\":{\"a\":{\"b\":[\"raw \u0001 control\"]}}}",
        "{\"tools\":{\"a\":[007]}}",
      })
  void inspect_malformedJson_rejectedNotJson(String body) {
    assertRejected(inspect(body), BodyProblem.NOT_JSON);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "{",
        "{\"model\"",
        "{\"model\":",
        "{\"model\":\"gpt-4o",
        "{\"model\":\"gpt-4o\"",
        "{\"model\":\"gpt-4o\",",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"",
        "{\"max_tokens\":12",
      })
  void inspect_truncatedJson_rejectedNotJson(String body) {
    String detail = assertRejected(inspect(body), BodyProblem.NOT_JSON);
    assertTrue(detail.contains("truncated"), detail);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "{} {}",
        "{}{}",
        "{}x",
        "{}}",
        "{}]",
        "{},",
        "{} // comment",
        "{} /* comment */",
        "{}\u001e",
        "{}\f",
        "{}\u000b",
        "{}\u00a0",
        "{} \"more\"",
        "{\"model\":\"gpt-4o\"}\n{\"model\":\"gpt-4\"}",
        "{\"model\":\"gpt-4o\"}\n\n  null",
      })
  void inspect_dataAfterObject_rejectedTrailingData(String body) {
    String detail = assertRejected(inspect(body), BodyProblem.TRAILING_DATA);
    assertTrue(detail.contains("byte offset"), detail);
  }

  @ParameterizedTest
  @ValueSource(strings = {"{}", " {} ", "\r\n\t {\"model\":\"gpt-4o\"} \r\n\t", "{ }", "{\n}\n"})
  void inspect_jsonWhitespaceAroundObject_accepted(String body) {
    assertAccepted(inspect(body));
  }

  // ---- duplicate keys ----

  @ParameterizedTest
  @ValueSource(
      strings = {
        "{\"model\":\"gpt-4o-mini\",\"model\":\"gpt-4o\"}",
        "{\"model\":\"gpt-4o-mini\",\"mod\\u0065l\":\"gpt-4o\"}",
        "{\"\\u006d\\u006f\\u0064\\u0065\\u006c\":\"a\",\"model\":\"b\"}",
        "{\"max_tokens\":1,\"max_tokens\":100000}",
        "{\"max_tokens\":1,\"max\\u005ftokens\":100000}",
        "{\"stream\":false,\"stream\":true}",
        "{\"n\":1,\"n\":null}",
        "{\"x\":1,\"x\":1}",
      })
  void inspect_duplicateTopLevelKey_rejected(String body) {
    assertRejected(inspect(body), BodyProblem.DUPLICATE_KEY);
  }

  @Test
  void inspect_duplicateModelKey_rejected() {
    String detail =
        assertRejected(
            inspect("{\"model\":\"gpt-4o-mini\",\"mod\\u0065l\":\"gpt-4o\"}"),
            BodyProblem.DUPLICATE_KEY);
    assertTrue(detail.contains("\"model\""), detail);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "{\"messages\":[{\"role\":\"user\",\"role\":\"system\",\"content\":\"hi\"}]}",
        "{\"a\":{\"b\":{\"c\":[{\"d\":1,\"d\":2}]}}}",
        "{\"a\":[[[[{\"k\":[],\"k\":{}}]]]]}",
        "{\"metadata\":{\"x\":1,\"\\u0078\":1}}",
        "{\"tools\":[{\"function\":{\"name\":\"f\",\"parameters\":{\"type\":\"object\","
            + "\"properties\":{},\"properties\":{}}}}]}",
      })
  void inspect_duplicateKeyInSkippedSubtree_rejected(String body) {
    assertRejected(inspect(body), BodyProblem.DUPLICATE_KEY);
  }

  @Test
  void inspect_sameKeyInSiblingObjects_accepted() {
    assertAccepted(
        inspect(
            "{\"messages\":[{\"role\":\"system\",\"content\":\"a\"},"
                + "{\"role\":\"user\",\"content\":\"b\"}],\"model\":\"gpt-4o\"}"));
  }

  @Test
  void inspect_duplicateKeyDetail_namesShortSanitizedKey() {
    String key = "k<script>".repeat(200);
    String detail =
        assertRejected(
            inspect("{\"a\":{\"" + key + "\":1,\"" + key + "\":2}}"), BodyProblem.DUPLICATE_KEY);
    assertFalse(detail.contains("<script>"), detail);
    assertTrue(detail.length() < 120, detail);
  }

  // ---- model ----

  @Test
  void inspect_escapedModelKey_readAsModel() {
    BodyFacts facts = assertAccepted(inspect("{\"mod\\u0065l\":\"gpt-4o\"}"));
    assertEquals(Optional.of("gpt-4o"), facts.model());
  }

  @ParameterizedTest
  @MethodSource("modelValues")
  void inspect_modelString_unescaped(String jsonValue, String expected) {
    BodyFacts facts = assertAccepted(inspect("{\"model\":" + jsonValue + "}"));
    assertEquals(Optional.of(expected), facts.model());
  }

  static Stream<Arguments> modelValues() {
    return Stream.of(
        Arguments.of("\"gpt-4o\"", "gpt-4o"),
        Arguments.of("\"gpt\\u002d4o\"", "gpt-4o"),
        Arguments.of("\"claude-3-5-sonnet-20241022\"", "claude-3-5-sonnet-20241022"),
        Arguments.of("\"ft:gpt-4o-mini:org:custom:abc123\"", "ft:gpt-4o-mini:org:custom:abc123"),
        Arguments.of("\"meta-llama/Llama-3-70b\"", "meta-llama/Llama-3-70b"),
        Arguments.of("\"a!~\\\"\\\\\\/z\"", "a!~\"\\/z"),
        Arguments.of("\"" + "m".repeat(256) + "\"", "m".repeat(256)));
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "null",
        "1",
        "true",
        "[\"gpt-4o\"]",
        "{\"id\":\"gpt-4o\"}",
        "\"\"",
        "\"gpt-4o\\u0000\"",
        "\"gpt-4o\\n\"",
        "\"gpt-4o\\u007f\"",
        "\"gpt-4o\\u0085\"",
        "\"gpt-4o\\ud800\"",
        "\"\\udc00gpt-4o\"",
        "\"gpt-4o\\ude00\\ud83d\"",
        "\"gpt-4o\\ud83d\\ude00\"",
        "\"gpt-4o\ud83d\ude00\"",
        "\"mod\u00e8le\"",
        "\"gpt\u20114o\"",
        "\"gpt-4o\\u00a0\"",
        "\"\uff47pt-4o\"",
        "\" gpt-4o\"",
        "\"gpt-4o \"",
        "\"gpt 4o\"",
        "\"gpt-4o\\t\"",
      })
  void inspect_invalidModel_rejectedInvalidField(String jsonValue) {
    String detail =
        assertRejected(inspect("{\"model\":" + jsonValue + "}"), BodyProblem.INVALID_FIELD);
    assertTrue(detail.contains("\"model\""), detail);
  }

  @Test
  void inspect_modelLongerThanLimit_rejectedInvalidField() {
    String body = "{\"model\":\"" + "m".repeat(RequestBodyInspector.MAX_MODEL_LENGTH + 1) + "\"}";
    assertRejected(inspect(body), BodyProblem.INVALID_FIELD);
  }

  @Test
  void inspect_oneMebibyteModel_rejectedWithoutEcho() {
    String body = "{\"model\":\"" + "x".repeat(1 << 20) + "\"}";
    String detail = assertRejected(inspect(body), BodyProblem.INVALID_FIELD);
    assertFalse(detail.contains("xxxx"), detail);
  }

  // ---- numeric fields ----

  @ParameterizedTest
  @MethodSource("validCounts")
  void inspect_nonNegativeInteger_readForEachCountField(String field, String json, long expected) {
    BodyFacts facts = assertAccepted(inspect("{\"" + field + "\":" + json + "}"));
    assertEquals(OptionalLong.of(expected), count(facts, field));
  }

  static Stream<Arguments> validCounts() {
    List<Arguments> cases = new ArrayList<>();
    for (String field : COUNT_FIELDS) {
      cases.add(Arguments.of(field, "0", 0L));
      cases.add(Arguments.of(field, "1", 1L));
      cases.add(Arguments.of(field, "4096", 4096L));
      cases.add(Arguments.of(field, "2147483648", 2147483648L));
      cases.add(Arguments.of(field, "9223372036854775807", Long.MAX_VALUE));
    }
    return cases.stream();
  }

  @ParameterizedTest
  @MethodSource("invalidCounts")
  void inspect_invalidCountField_rejectedNamingField(String field, String json) {
    String detail =
        assertRejected(inspect("{\"" + field + "\":" + json + "}"), BodyProblem.INVALID_FIELD);
    assertTrue(detail.contains("\"" + field + "\""), detail);
  }

  static Stream<Arguments> invalidCounts() {
    String[] values = {
      "10.0",
      "1e3",
      "1E3",
      "10e0",
      "1.5",
      "0.0",
      "-1",
      "-0",
      "-9223372036854775808",
      "9223372036854775808",
      "18446744073709551616",
      "99999999999999999999999",
      "1" + "0".repeat(500),
      "\"10\"",
      "true",
      "[]",
      "[10]",
      "{}",
    };
    List<Arguments> cases = new ArrayList<>();
    for (String field : COUNT_FIELDS) {
      for (String value : values) {
        cases.add(Arguments.of(field, value));
      }
    }
    return cases.stream();
  }

  @ParameterizedTest
  @ValueSource(strings = {"max_tokens", "max_completion_tokens", "n"})
  void inspect_countFieldNull_treatedAsAbsent(String field) {
    BodyFacts facts = assertAccepted(inspect("{\"" + field + "\":null}"));
    assertEquals(OptionalLong.empty(), count(facts, field));
  }

  @Test
  void inspect_noFieldsOfInterest_allAbsent() {
    byte[] body = utf8("{\"input\":\"hello\"}");
    assertEquals(
        new BodyFacts(
            Optional.empty(),
            OptionalLong.empty(),
            OptionalLong.empty(),
            OptionalLong.empty(),
            false,
            body.length),
        assertAccepted(INSPECTOR.inspect(body)));
  }

  // ---- stream ----

  @ParameterizedTest
  @MethodSource("streamValues")
  void inspect_streamField_read(String body, boolean expected) {
    assertEquals(expected, assertAccepted(inspect(body)).stream());
  }

  static Stream<Arguments> streamValues() {
    return Stream.of(
        Arguments.of("{\"stream\":true}", true),
        Arguments.of("{\"stream\":false}", false),
        Arguments.of("{\"stream\":null}", false),
        Arguments.of("{}", false));
  }

  @ParameterizedTest
  @ValueSource(strings = {"\"true\"", "1", "0", "[]", "{}", "[true]"})
  void inspect_streamNotBoolean_rejectedInvalidField(String jsonValue) {
    String detail =
        assertRejected(inspect("{\"stream\":" + jsonValue + "}"), BodyProblem.INVALID_FIELD);
    assertTrue(detail.contains("\"stream\""), detail);
  }

  // ---- top level only ----

  @Test
  void inspect_fieldsOfInterestNested_ignored() {
    String body =
        "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\",\"model\":\"evil\","
            + "\"max_tokens\":\"lots\",\"stream\":\"yes\",\"n\":-5}],"
            + "\"metadata\":{\"model\":null,\"Model\":1},\"model\":\"gpt-4o\"}";
    BodyFacts facts = assertAccepted(inspect(body));
    assertEquals(Optional.of("gpt-4o"), facts.model());
    assertEquals(OptionalLong.empty(), facts.maxTokens());
    assertEquals(OptionalLong.empty(), facts.n());
    assertFalse(facts.stream());
  }

  // ---- look-alike keys ----

  @ParameterizedTest
  @ValueSource(
      strings = {
        "Model",
        "MODEL",
        "mOdEl",
        "_model",
        "model_",
        "mo-del",
        "m_o_d_e_l",
        "max_tokens_",
        "max__tokens",
        "Max_Tokens",
        "max-tokens",
        "maxTokens",
        "MAXTOKENS",
        "max_to\u212aens", // KELVIN SIGN folds to k
        "maxCompletionTokens",
        "max-completion-tokens",
        "N",
        "_n",
        "Stream",
        "\u017ftream", // LATIN SMALL LETTER LONG S folds to s
        "STREAM",
      })
  void inspect_lookalikeTopLevelKey_rejectedInvalidField(String key) {
    String detail = assertRejected(inspect("{\"" + key + "\":1}"), BodyProblem.INVALID_FIELD);
    assertTrue(detail.contains("resembles"), detail);
  }

  @ParameterizedTest
  @ValueSource(strings = {"model\\u0000", "mod\\u0000el", "\\u0000", "max_tokens\\u0000x"})
  void inspect_topLevelKeyWithNul_rejectedInvalidField(String escapedKey) {
    assertRejected(inspect("{\"" + escapedKey + "\":1}"), BodyProblem.INVALID_FIELD);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "models",
        "model_name",
        "max_token",
        "max_tokenss",
        "stream_options",
        "nn",
        "",
        "_",
        "temperature",
        "top_p",
        "max_output_tokens",
      })
  void inspect_distinctTopLevelKey_accepted(String key) {
    assertAccepted(inspect("{\"" + key + "\":{\"include_usage\":true}}"));
  }

  // ---- encoding ----

  @ParameterizedTest
  @MethodSource("invalidUtf8")
  void inspect_invalidUtf8_rejected(String name, byte[] body) {
    assertRejected(INSPECTOR.inspect(body), BodyProblem.INVALID_UTF8);
  }

  static Stream<Arguments> invalidUtf8() {
    return Stream.of(
        Arguments.of("overlong NUL in value", json("{\"a\":\"", 0xC0, 0x80, "\"}")),
        Arguments.of("overlong slash in key", json("{\"", 0xC0, 0xAF, "\":1}")),
        Arguments.of("C1 lead", json("{\"a\":\"", 0xC1, 0xBF, "\"}")),
        Arguments.of("3-byte overlong", json("{\"a\":\"", 0xE0, 0x80, 0xAF, "\"}")),
        Arguments.of("4-byte overlong", json("{\"a\":\"", 0xF0, 0x80, 0x80, 0xAF, "\"}")),
        Arguments.of("high surrogate", json("{\"a\":\"", 0xED, 0xA0, 0x80, "\"}")),
        Arguments.of("low surrogate", json("{\"a\":\"", 0xED, 0xBF, 0xBF, "\"}")),
        Arguments.of("beyond U+10FFFF", json("{\"a\":\"", 0xF4, 0x90, 0x80, 0x80, "\"}")),
        Arguments.of("F5 lead", json("{\"a\":\"", 0xF5, 0x80, 0x80, 0x80, "\"}")),
        Arguments.of("FF byte", json("{\"a\":\"", 0xFF, "\"}")),
        Arguments.of("lone continuation", json("{\"a\":\"", 0x80, "\"}")),
        Arguments.of("cut-short 3-byte", json("{\"a\":\"", 0xE2, 0x82, "\"}")),
        Arguments.of("cut-short at end", json("{\"a\":1}", 0xE2, 0x82)),
        Arguments.of("latin-1 e-acute", json("{\"model\":\"mod", 0xE8, "le\"}")),
        Arguments.of(
            "in deep skipped subtree",
            json("{\"messages\":[{\"content\":[{\"text\":\"", 0xED, 0xA0, 0x80, "\"}]}]}")),
        Arguments.of("in whitespace", json("{", 0xC2, "}")),
        Arguments.of("UTF-8 BOM", json("", 0xEF, 0xBB, 0xBF, "{\"model\":\"gpt-4o\"}")),
        Arguments.of("UTF-16 BE BOM", encode("\uFEFF{\"model\":\"gpt-4o\"}", "UTF-16BE")),
        Arguments.of("UTF-16 LE BOM", encode("\uFEFF{\"model\":\"gpt-4o\"}", "UTF-16LE")),
        Arguments.of("UTF-16 BE", encode("{\"model\":\"gpt-4o\"}", "UTF-16BE")),
        Arguments.of("UTF-16 LE", encode("{\"model\":\"gpt-4o\"}", "UTF-16LE")),
        Arguments.of("UTF-16 LE, leading space", encode(" {\"model\":\"gpt-4o\"}", "UTF-16LE")),
        Arguments.of("UTF-32 BE", encode("{\"model\":\"gpt-4o\"}", "UTF-32BE")),
        Arguments.of("UTF-32 LE", encode("{\"model\":\"gpt-4o\"}", "UTF-32LE")));
  }

  @ParameterizedTest
  @MethodSource("validUtf8")
  void inspect_wellFormedMultibyteUtf8_accepted(String name, byte[] body) {
    assertEquals(body.length, assertAccepted(INSPECTOR.inspect(body)).bytes());
  }

  static Stream<Arguments> validUtf8() {
    return Stream.of(
        Arguments.of("2-byte", utf8("{\"a\":\"h\u00e9llo\"}")),
        Arguments.of("3-byte", utf8("{\"a\":\"\u65e5\u672c\u8a9e\"}")),
        Arguments.of("4-byte", utf8("{\"a\":\"\ud83d\ude00\"}")),
        Arguments.of("U+FFFF", json("{\"a\":\"", 0xEF, 0xBF, 0xBF, "\"}")),
        Arguments.of("U+10FFFF", json("{\"a\":\"", 0xF4, 0x8F, 0xBF, 0xBF, "\"}")),
        Arguments.of("U+D7FF", json("{\"a\":\"", 0xED, 0x9F, 0xBF, "\"}")),
        Arguments.of("U+E000", json("{\"a\":\"", 0xEE, 0x80, 0x80, "\"}")),
        Arguments.of("non-ASCII key", utf8("{\"cl\u00e9\":1}")));
  }

  @ParameterizedTest
  @ValueSource(strings = {"{\"a\":\"x\u0000y\"}", "{\"a\":1}\u0000", "{\"a\":1\u0000}"})
  void inspect_rawNulByte_rejectedNotJson(String body) {
    assertRejected(inspect(body), BodyProblem.NOT_JSON);
  }

  // ---- depth ----

  @Test
  void inspect_nestingAtLimit_accepted() {
    assertAccepted(inspect(nestedArrays(RequestBodyInspector.DEFAULT_MAX_DEPTH)));
    assertAccepted(inspect(nestedObjects(RequestBodyInspector.DEFAULT_MAX_DEPTH)));
  }

  @Test
  void inspect_nestingOneBeyondLimit_rejectedTooDeep() {
    assertRejected(
        inspect(nestedArrays(RequestBodyInspector.DEFAULT_MAX_DEPTH + 1)), BodyProblem.TOO_DEEP);
    assertRejected(
        inspect(nestedObjects(RequestBodyInspector.DEFAULT_MAX_DEPTH + 1)), BodyProblem.TOO_DEEP);
  }

  @ParameterizedTest
  @ValueSource(ints = {1_000, 10_000, 100_000})
  void inspect_veryDeepNesting_rejectedTooDeepWithoutStackOverflow(int depth) {
    assertRejected(inspect(nestedArrays(depth)), BodyProblem.TOO_DEEP);
    assertRejected(inspect(nestedObjects(depth)), BodyProblem.TOO_DEEP);
    // Unterminated: the limit is hit before the missing closers matter.
    assertRejected(inspect("{\"a\":" + "[".repeat(depth)), BodyProblem.TOO_DEEP);
  }

  @Test
  void inspect_deepTopLevelArray_rejectedNotAnObject() {
    assertRejected(inspect("[".repeat(10_000) + "]".repeat(10_000)), BodyProblem.NOT_AN_OBJECT);
  }

  @Test
  void inspect_maxDepthOne_allowsOnlyFlatObject() {
    RequestBodyInspector flat = new RequestBodyInspector(1);
    assertAccepted(flat.inspect(utf8("{\"model\":\"gpt-4o\",\"n\":1}")));
    assertRejected(flat.inspect(utf8("{\"messages\":[]}")), BodyProblem.TOO_DEEP);
    assertRejected(flat.inspect(utf8("{\"metadata\":{}}")), BodyProblem.TOO_DEEP);
  }

  @ParameterizedTest
  @ValueSource(ints = {0, -1, RequestBodyInspector.MAX_SUPPORTED_DEPTH + 1})
  void constructor_maxDepthOutOfRange_throws(int maxDepth) {
    assertThrows(IllegalArgumentException.class, () -> new RequestBodyInspector(maxDepth));
  }

  // ---- limits ----

  @Test
  void inspect_numberLongerThanLimitInSkippedField_rejectedNotJson() {
    String digits = "1".repeat(RequestBodyInspector.MAX_NUMBER_LENGTH + 1);
    assertRejected(inspect("{\"a\":[" + digits + "]}"), BodyProblem.NOT_JSON);
    assertAccepted(inspect("{\"a\":[" + digits.substring(1) + "]}"));
  }

  @Test
  void inspect_garbageToken_detailDoesNotEchoBody() {
    String detail =
        assertRejected(inspect("{\"a\":" + "secret".repeat(100) + "}"), BodyProblem.NOT_JSON);
    assertFalse(detail.contains("secret"), detail);
    assertTrue(detail.contains("byte offset"), detail);
  }

  // ---- realistic bodies ----

  @Test
  void inspect_realisticChatCompletionsBody_factsRead() {
    byte[] body = utf8(chatCompletionsBody());
    assertTrue(body.length >= 2000, "fixture is about 2 KB, was " + body.length);
    BodyFacts facts = assertAccepted(INSPECTOR.inspect(body));
    assertEquals(
        new BodyFacts(
            Optional.of("gpt-4o-2024-08-06"),
            OptionalLong.empty(),
            OptionalLong.of(1024),
            OptionalLong.of(1),
            true,
            body.length),
        facts);
  }

  @Test
  void inspect_anthropicMessagesBody_factsRead() {
    byte[] body = utf8(anthropicMessagesBody());
    BodyFacts facts = assertAccepted(INSPECTOR.inspect(body));
    assertEquals(
        new BodyFacts(
            Optional.of("claude-sonnet-4-20250514"),
            OptionalLong.of(2048),
            OptionalLong.empty(),
            OptionalLong.empty(),
            false,
            body.length),
        facts);
  }

  @Test
  void inspect_oneMebibyteStringContent_accepted() {
    String content = "The quick brown fox \\\"jumps\\\" \u00e9\u65e5\ud83d\ude00 ".repeat(40_000);
    byte[] body =
        utf8(
            "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\""
                + content
                + "\"}],\"max_tokens\":64}");
    assertTrue(body.length > (1 << 20), "body is over 1 MiB, was " + body.length);
    BodyFacts facts = assertAccepted(INSPECTOR.inspect(body));
    assertEquals(Optional.of("gpt-4o"), facts.model());
    assertEquals(OptionalLong.of(64), facts.maxTokens());
    assertEquals(body.length, facts.bytes());
  }

  @Test
  void inspect_concurrentCallers_sameVerdicts() throws Exception {
    byte[] good = utf8(chatCompletionsBody());
    byte[] bad = utf8("{\"messages\":[{\"role\":\"a\",\"role\":\"b\"}]}");
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Future<Boolean>> results = new ArrayList<>();
      for (int i = 0; i < 64; i++) {
        results.add(
            pool.submit(
                () -> {
                  for (int j = 0; j < 200; j++) {
                    if (!(INSPECTOR.inspect(good) instanceof BodyInspection.Accepted)
                        || !(INSPECTOR.inspect(bad) instanceof BodyInspection.Rejected)) {
                      return false;
                    }
                  }
                  return true;
                }));
      }
      for (Future<Boolean> result : results) {
        assertTrue(result.get());
      }
    } finally {
      pool.shutdownNow();
    }
  }

  // ---- helpers ----

  private static BodyInspection inspect(String body) {
    return INSPECTOR.inspect(utf8(body));
  }

  private static BodyFacts assertAccepted(BodyInspection inspection) {
    return assertInstanceOf(BodyInspection.Accepted.class, inspection, inspection::toString)
        .facts();
  }

  /** Asserts the problem and returns the detail, after checking it is short and non-empty. */
  private static String assertRejected(BodyInspection inspection, BodyProblem expected) {
    BodyInspection.Rejected rejected =
        assertInstanceOf(BodyInspection.Rejected.class, inspection, inspection::toString);
    assertEquals(expected, rejected.problem(), rejected::detail);
    assertFalse(rejected.detail().isBlank());
    assertTrue(rejected.detail().length() <= 160, rejected.detail());
    return rejected.detail();
  }

  private static OptionalLong count(BodyFacts facts, String field) {
    return switch (field) {
      case "max_tokens" -> facts.maxTokens();
      case "max_completion_tokens" -> facts.maxCompletionTokens();
      case "n" -> facts.n();
      default -> throw new IllegalArgumentException(field);
    };
  }

  private static byte[] utf8(String s) {
    return s.getBytes(UTF_8);
  }

  private static byte[] encode(String s, String charset) {
    return s.getBytes(Charset.forName(charset));
  }

  /** Concatenates ASCII strings and raw byte values (ints) into one body. */
  private static byte[] json(Object... parts) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (Object part : parts) {
      if (part instanceof String s) {
        out.writeBytes(s.getBytes(StandardCharsets.US_ASCII));
      } else {
        out.write((Integer) part);
      }
    }
    return out.toByteArray();
  }

  /** A top-level object holding arrays so that total nesting is {@code depth}. */
  private static String nestedArrays(int depth) {
    return "{\"a\":" + "[".repeat(depth - 1) + "]".repeat(depth - 1) + "}";
  }

  /** Objects nested {@code depth} levels, the top-level one included. */
  private static String nestedObjects(int depth) {
    return "{\"a\":".repeat(depth - 1) + "{}" + "}".repeat(depth - 1);
  }

  private static String chatCompletionsBody() {
    return """
           {
             "model": "gpt-4o-2024-08-06",
             "messages": [
               {"role": "system", "content": "You are a meticulous assistant. Answer concisely, \
           cite sources when you can, and never invent data. Use metric units."},
               {"role": "user", "content": [
                 {"type": "text", "text": "Summarise the attached quarterly report and list the \
           three biggest risks, each with one sentence of justification."},
                 {"type": "image_url", "image_url": {"url": "https://example.com/q3.png", \
           "detail": "low"}}
               ]},
               {"role": "assistant", "content": null, "tool_calls": [
                 {"id": "call_abc123", "type": "function", "function": {"name": "lookup_report", \
           "arguments": "{\\"quarter\\":\\"Q3\\",\\"year\\":2024,\\"model\\":\\"gpt-5\\"}"}}
               ]},
               {"role": "tool", "tool_call_id": "call_abc123", "content": "Revenue 12.4M EUR \
           (+8% QoQ); churn 3.1%; two key suppliers in one region; FX exposure 40% USD."}
             ],
             "tools": [
               {"type": "function", "function": {
                 "name": "lookup_report",
                 "description": "Fetch a quarterly report by quarter and year.",
                 "parameters": {
                   "type": "object",
                   "properties": {
                     "quarter": {"type": "string", "enum": ["Q1", "Q2", "Q3", "Q4"]},
                     "year": {"type": "integer", "minimum": 2000, "maximum": 2100},
                     "model": {"type": "string", "description": "not the top-level model"}
                   },
                   "required": ["quarter", "year"],
                   "additionalProperties": false
                 },
                 "strict": true
               }}
             ],
             "tool_choice": "auto",
             "response_format": {"type": "json_schema", "json_schema": {"name": "risks", \
           "schema": {"type": "object", "properties": {"risks": {"type": "array", "items": \
           {"type": "string"}, "maxItems": 3}}, "required": ["risks"]}}},
             "temperature": 0.2,
             "top_p": 1,
             "frequency_penalty": 0,
             "presence_penalty": 0,
             "max_completion_tokens": 1024,
             "n": 1,
             "stream": true,
             "stream_options": {"include_usage": true},
             "seed": 42,
             "logit_bias": {"50256": -100, "198": -1.5e1},
             "user": "agent-7f3c",
             "metadata": {"run": "nightly", "max_tokens": "not-top-level"},
             "parallel_tool_calls": false,
             "store": false
           }
           """;
  }

  private static String anthropicMessagesBody() {
    return """
           {
             "model": "claude-sonnet-4-20250514",
             "max_tokens": 2048,
             "system": [{"type": "text", "text": "You are terse.", \
           "cache_control": {"type": "ephemeral"}}],
             "messages": [
               {"role": "user", "content": "What is the boiling point of water at 2000 m?"},
               {"role": "assistant", "content": [{"type": "text", "text": "About 93 \u00b0C."}]},
               {"role": "user", "content": [
                 {"type": "text", "text": "And at 4000 m? Show the formula."},
                 {"type": "image", "source": {"type": "base64", "media_type": "image/png", \
           "data": "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAC\
           hwGA60e6kgAAAABJRU5ErkJggg=="}}
               ]}
             ],
             "temperature": 0.0,
             "top_k": 40,
             "stop_sequences": ["\\n\\nHuman:"],
             "thinking": {"type": "enabled", "budget_tokens": 1024},
             "tools": [{"name": "calc", "description": "Evaluate arithmetic.", \
           "input_schema": {"type": "object", "properties": {"expr": {"type": "string"}}}}],
             "metadata": {"user_id": "agent-42"},
             "stream": false
           }
           """;
  }
}
