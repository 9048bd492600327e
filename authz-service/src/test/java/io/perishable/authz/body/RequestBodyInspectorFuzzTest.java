package io.perishable.authz.body;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * Differential fuzzing of the body inspector against a strict tree parse (Jackson databind
 * with duplicate detection and trailing-token checks). Properties: inspect never throws; what
 * it accepts, the strict parser also reads as one object, and both agree on every field the
 * grant checks. A disagreement is exactly the kind of parser differential an attacker uses.
 */
class RequestBodyInspectorFuzzTest {
  private static final RequestBodyInspector INSPECTOR = new RequestBodyInspector(64);
  private static final ObjectMapper STRICT = JsonMapper.builder()
      .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
      .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
      .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY)
      .disable(JsonParser.Feature.ALLOW_COMMENTS)
      .build();

  @DictionaryEntries({"\"model\"", "\"max_tokens\"", "\"max_completion_tokens\"", "\"n\"",
      "\"stream\"", "\\u00", "true", "null", "-0", "1e3", "{", "}", "[", "]", ":", ","})
  @FuzzTest(maxDuration = "20s")
  void inspect_anyBytes_agreesWithAStrictParse(byte[] body) throws Exception {
    BodyInspection inspection = INSPECTOR.inspect(body);
    if (!(inspection instanceof BodyInspection.Accepted accepted)) {
      return;
    }
    BodyFacts facts = accepted.facts();
    JsonNode tree = STRICT.readTree(body);
    assertTrue(tree.isObject(), "accepted a body that is not one object");
    assertEquals(text(tree.get("model")), facts.model());
    assertEquals(number(tree.get("max_tokens")), facts.maxTokens());
    assertEquals(number(tree.get("max_completion_tokens")), facts.maxCompletionTokens());
    assertEquals(number(tree.get("n")), facts.n());
    assertEquals(tree.has("stream") && tree.get("stream").asBoolean(), facts.stream());
  }

  private static Optional<String> text(JsonNode node) {
    return node == null || node.isNull() ? Optional.empty() : Optional.of(node.textValue());
  }

  private static OptionalLong number(JsonNode node) {
    return node == null || node.isNull() ? OptionalLong.empty() : OptionalLong.of(node.longValue());
  }
}
