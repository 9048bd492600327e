package io.perishable.authz.body;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.core.io.JsonEOFException;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import java.io.IOException;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * Reads the policy-relevant fields of a buffered JSON request body, refusing anything a provider
 * could parse differently from us.
 *
 * <p>A body is accepted only if all of the following hold; otherwise {@link #inspect} returns a
 * {@link BodyInspection.Rejected} naming the first violation found:
 *
 * <ul>
 *   <li>It is well-formed UTF-8: no ill-formed sequences, no byte order mark, no UTF-16/UTF-32
 *       (providers decode UTF-8; Jackson's and Python's default encoding sniffing would otherwise
 *       read a UTF-16 body that we must not) → {@link BodyProblem#INVALID_UTF8}.
 *   <li>It is exactly one strict RFC 8259 JSON text whose top-level value is an object, with only
 *       JSON whitespace (space, tab, CR, LF) around it. Every lenient Jackson feature (comments,
 *       single quotes, unquoted keys, {@code NaN}/{@code Infinity}, leading zeros or plus signs,
 *       trailing commas, missing values, unescaped control characters, backslash-escaping any
 *       character) is explicitly disabled. Empty or whitespace-only → {@link BodyProblem#EMPTY};
 *       top-level array or scalar → {@link BodyProblem#NOT_AN_OBJECT}; data after the object →
 *       {@link BodyProblem#TRAILING_DATA}; anything else → {@link BodyProblem#NOT_JSON}.
 *   <li>No object at any depth has the same key twice, comparing keys after JSON unescaping (so
 *       <code>"mod&#92;u0065l"</code> is {@code model}) → {@link BodyProblem#DUPLICATE_KEY}.
 *       Providers differ on which duplicate wins; we refuse to guess.
 *   <li>Objects and arrays nest at most {@code maxDepth} levels, counting the top-level object as
 *       level 1 → {@link BodyProblem#TOO_DEEP}.
 *   <li>The top-level fields of interest, if present, are well-typed (otherwise {@link
 *       BodyProblem#INVALID_FIELD}, with the field named in the detail):
 *       <ul>
 *         <li>{@code model}: a string of 1 to {@value #MAX_MODEL_LENGTH} printable ASCII characters
 *             (U+0021..U+007E: no spaces, control characters or non-ASCII, which a provider might
 *             trim, case-fold or normalize into a model the allowlist never saw). {@code null} is
 *             refused: a model allowlist cannot be checked against it, and providers do not agree
 *             on what it means.
 *         <li>{@code max_tokens}, {@code max_completion_tokens}, {@code n}: a JSON integer from 0
 *             to {@link Long#MAX_VALUE} written without sign, fraction or exponent ({@code 10.0},
 *             {@code 1e3}, {@code -1}, {@code -0}, {@code "10"} and values beyond a long are
 *             refused). {@code null} is treated as absent, as OpenAI treats it as "use the
 *             default": the policy sees the same thing for both.
 *         <li>{@code stream}: {@code true} or {@code false}; {@code null} is treated as {@code
 *             false} (the providers' default).
 *       </ul>
 *   <li>No other top-level key could be taken for a field of interest by a lenient decoder: a key
 *       that equals one of those five after ignoring letter case (with Unicode simple case folding,
 *       e.g. U+212A KELVIN SIGN as {@code k}), {@code _} and {@code -} is refused, as is a
 *       top-level key containing U+0000. Go's {@code encoding/json}, used by some OpenAI-compatible
 *       servers, matches keys case-insensitively, so {@code {"model":"a", "MODEL":"b"}} would run
 *       model {@code b}.
 * </ul>
 *
 * <p>Only the top-level occurrence of a field counts; a {@code "model"} key inside {@code messages}
 * is ignored. Values of all other keys are walked token by token (strings are not decoded) so the
 * rules above apply to the whole body. Parser size limits: numbers longer than {@value
 * #MAX_NUMBER_LENGTH} digits anywhere in the body are refused as {@link BodyProblem#NOT_JSON};
 * Jackson's default string and key length limits also apply.
 *
 * <p>Thread-safe; create one per process and share it. The {@link JsonFactory} is built once; each
 * call allocates only the parser and the result.
 */
public final class RequestBodyInspector {

  /** A nesting limit comfortably above any real chat or messages request. */
  public static final int DEFAULT_MAX_DEPTH = 64;

  /** The largest accepted {@code maxDepth}: Jackson's own default nesting limit. */
  public static final int MAX_SUPPORTED_DEPTH = StreamReadConstraints.DEFAULT_MAX_DEPTH;

  /** Longest accepted {@code model} value, in UTF-16 code units. */
  public static final int MAX_MODEL_LENGTH = 256;

  /** Longest accepted JSON number anywhere in the body, in characters (Jackson's default). */
  public static final int MAX_NUMBER_LENGTH = 1000;

  private static final String MODEL = "model";
  private static final String MAX_TOKENS = "max_tokens";
  private static final String MAX_COMPLETION_TOKENS = "max_completion_tokens";
  private static final String N = "n";
  private static final String STREAM = "stream";
  private static final List<String> FIELDS_OF_INTEREST =
      List.of(MODEL, MAX_TOKENS, MAX_COMPLETION_TOKENS, N, STREAM);

  /** Jackson's duplicate-key message prefix (JsonReadContext#_checkDup); pinned by tests. */
  private static final String DUPLICATE_MESSAGE_PREFIX = "Duplicate field '";

  private static final int MAX_KEY_IN_DETAIL = 40;
  private static final long ABSENT = -1;

  private final int maxDepth;
  private final JsonFactory factory;

  /**
   * Creates an inspector.
   *
   * @param maxDepth the deepest accepted nesting of objects and arrays, counting the top-level
   *     object as 1; from 1 to {@link #MAX_SUPPORTED_DEPTH}
   * @throws IllegalArgumentException if {@code maxDepth} is out of range
   */
  public RequestBodyInspector(int maxDepth) {
    if (maxDepth < 1 || maxDepth > MAX_SUPPORTED_DEPTH) {
      throw new IllegalArgumentException(
          "maxDepth must be between 1 and " + MAX_SUPPORTED_DEPTH + ", got " + maxDepth);
    }
    this.maxDepth = maxDepth;
    this.factory = newFactory(maxDepth);
  }

  private static JsonFactory newFactory(int maxDepth) {
    var builder =
        JsonFactory.builder()
            // Always UTF-8: never sniff UTF-16/32 or skip a BOM (we refuse those before parsing).
            .disable(JsonFactory.Feature.CHARSET_DETECTION)
            // Keys are compared with equals(); don't grow the JVM string table with client keys.
            .disable(JsonFactory.Feature.INTERN_FIELD_NAMES)
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .disable(StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION)
            .streamReadConstraints(
                StreamReadConstraints.builder()
                    // Our own counter rejects at maxDepth + 1 first; this is only a backstop.
                    .maxNestingDepth(maxDepth + 1)
                    .maxNumberLength(MAX_NUMBER_LENGTH)
                    .build());
    for (JsonReadFeature lenient : JsonReadFeature.values()) {
      builder.disable(lenient); // all are off by default; say so explicitly
    }
    return builder.build();
  }

  /** The nesting limit this inspector enforces. */
  public int maxDepth() {
    return maxDepth;
  }

  /**
   * Inspects a whole buffered request body. Never throws for any content of {@code body}: every
   * parser failure, including internal ones, becomes a {@link BodyInspection.Rejected}.
   *
   * @param body the complete request body as received (not decompressed)
   * @return the body's facts, or the first reason it cannot be trusted
   * @throws NullPointerException if {@code body} is null
   */
  public BodyInspection inspect(byte[] body) {
    Objects.requireNonNull(body, "body");
    JsonParser parser = null;
    try {
      checkEncoding(body);
      parser = factory.createParser(body);
      return new BodyInspection.Accepted(readTopLevelObject(parser, body));
    } catch (Refusal refusal) {
      return new BodyInspection.Rejected(refusal.problem, refusal.detail);
    } catch (StreamConstraintsException e) {
      return rejected(
          BodyProblem.NOT_JSON,
          "body exceeds the JSON parser's limits (numbers up to "
              + MAX_NUMBER_LENGTH
              + " digits; strings and keys are also bounded)");
    } catch (JsonEOFException e) {
      return rejected(BodyProblem.NOT_JSON, "body ends inside its JSON value (truncated?)");
    } catch (JsonParseException e) {
      String message = e.getOriginalMessage();
      if (message != null && message.startsWith(DUPLICATE_MESSAGE_PREFIX)) {
        String key = parser == null ? null : parser.getParsingContext().getCurrentName();
        return rejected(
            BodyProblem.DUPLICATE_KEY,
            "duplicate key " + (key == null ? "in an object" : describeKey(key)) + atOffset(e));
      }
      JsonLocation location = e.getLocation();
      if (location != null && location.getByteOffset() >= body.length) {
        return rejected(BodyProblem.NOT_JSON, "body ends inside its JSON value (truncated?)");
      }
      return rejected(BodyProblem.NOT_JSON, "body is not valid strict JSON" + atOffset(e));
    } catch (IOException | RuntimeException e) {
      // Fail closed on anything unexpected (e.g. a symbol-table overflow from hostile keys).
      return rejected(BodyProblem.NOT_JSON, "body could not be parsed as JSON");
    } finally {
      closeQuietly(parser);
    }
  }

  /** Refuses non-UTF-8 input and empty bodies before Jackson sees the bytes. */
  private static void checkEncoding(byte[] body) throws Refusal {
    if (body.length == 0) {
      throw new Refusal(BodyProblem.EMPTY, "body is empty");
    }
    if (body.length >= 3
        && (body[0] & 0xFF) == 0xEF
        && (body[1] & 0xFF) == 0xBB
        && (body[2] & 0xFF) == 0xBF) {
      throw new Refusal(BodyProblem.INVALID_UTF8, "body starts with a UTF-8 byte order mark");
    }
    if (body.length >= 2
        && (((body[0] & 0xFF) == 0xFE && (body[1] & 0xFF) == 0xFF)
            || ((body[0] & 0xFF) == 0xFF && (body[1] & 0xFF) == 0xFE))) {
      throw new Refusal(
          BodyProblem.INVALID_UTF8, "body starts with a UTF-16 byte order mark; send UTF-8");
    }
    int bad = Utf8Validator.firstProblem(body);
    if (bad >= 0) {
      if (body[bad] != 0) {
        throw new Refusal(BodyProblem.INVALID_UTF8, "invalid UTF-8 at byte offset " + bad);
      }
      if (bad < 2) {
        // A JSON text starts with an ASCII character, so UTF-16 and UTF-32 (either byte order)
        // put a zero byte at offset 0 or 1.
        throw new Refusal(
            BodyProblem.INVALID_UTF8, "body looks like UTF-16 or UTF-32 text; send UTF-8");
      }
      throw new Refusal(BodyProblem.NOT_JSON, "raw NUL byte at byte offset " + bad);
    }
    if (firstNonWhitespace(body, 0) == body.length) {
      throw new Refusal(BodyProblem.EMPTY, "body contains only whitespace");
    }
  }

  private BodyFacts readTopLevelObject(JsonParser parser, byte[] body) throws IOException, Refusal {
    JsonToken first = parser.nextToken();
    if (first != JsonToken.START_OBJECT) {
      throw new Refusal(
          BodyProblem.NOT_AN_OBJECT, "top-level JSON value must be an object, not " + kind(first));
    }
    String model = null;
    long maxTokens = ABSENT;
    long maxCompletionTokens = ABSENT;
    long n = ABSENT;
    boolean stream = false;
    JsonToken token;
    while ((token = parser.nextToken()) == JsonToken.FIELD_NAME) {
      String key = parser.currentName();
      JsonToken value = parser.nextToken();
      switch (key) {
        case MODEL -> model = readModel(parser, value);
        case MAX_TOKENS -> maxTokens = readCount(parser, value, MAX_TOKENS);
        case MAX_COMPLETION_TOKENS ->
            maxCompletionTokens = readCount(parser, value, MAX_COMPLETION_TOKENS);
        case N -> n = readCount(parser, value, N);
        case STREAM -> stream = readStream(value);
        default -> {
          checkOtherTopLevelKey(key);
          if (value == JsonToken.START_OBJECT || value == JsonToken.START_ARRAY) {
            skipNested(parser);
          }
        }
      }
    }
    if (token != JsonToken.END_OBJECT) {
      // Unreachable with a conforming parser: inside an object only keys or '}' may follow.
      throw new Refusal(BodyProblem.NOT_JSON, "body is not valid strict JSON");
    }
    long end = parser.currentLocation().getByteOffset();
    if (end < 0 || end > body.length) {
      throw new Refusal(BodyProblem.NOT_JSON, "could not locate the end of the JSON object");
    }
    int trailing = firstNonWhitespace(body, (int) end);
    if (trailing < body.length) {
      throw new Refusal(
          BodyProblem.TRAILING_DATA,
          "unexpected data after the top-level JSON object at byte offset " + trailing);
    }
    return new BodyFacts(
        Optional.ofNullable(model),
        optional(maxTokens),
        optional(maxCompletionTokens),
        optional(n),
        stream,
        body.length);
  }

  /**
   * Walks past the container whose start token the parser is on (a value of the top-level object,
   * so at depth 2), counting depth. Every token still goes through the parser, so duplicate keys,
   * syntax and UTF-8 are checked inside; strings are skipped, not decoded. (This is what {@link
   * JsonParser#skipChildren()} does, plus the depth count.)
   */
  private void skipNested(JsonParser parser) throws IOException, Refusal {
    int depth = 2;
    checkDepth(depth);
    while (depth > 1) {
      JsonToken token = parser.nextToken();
      if (token == null) {
        throw new Refusal(BodyProblem.NOT_JSON, "body ends inside its JSON value (truncated?)");
      }
      if (token == JsonToken.START_OBJECT || token == JsonToken.START_ARRAY) {
        checkDepth(++depth);
      } else if (token == JsonToken.END_OBJECT || token == JsonToken.END_ARRAY) {
        depth--;
      }
    }
  }

  private void checkDepth(int depth) throws Refusal {
    if (depth > maxDepth) {
      throw new Refusal(
          BodyProblem.TOO_DEEP,
          "objects and arrays are nested deeper than " + maxDepth + " levels");
    }
  }

  private static String readModel(JsonParser parser, JsonToken value) throws IOException, Refusal {
    if (value != JsonToken.VALUE_STRING) {
      throw invalid(MODEL, "must be a string, not " + kind(value));
    }
    int length = parser.getTextLength();
    if (length == 0) {
      throw invalid(MODEL, "must not be empty");
    }
    if (length > MAX_MODEL_LENGTH) {
      throw invalid(MODEL, "is longer than " + MAX_MODEL_LENGTH + " characters");
    }
    String model = parser.getText();
    for (int i = 0; i < model.length(); i++) {
      char c = model.charAt(i);
      // Printable ASCII only: no whitespace a provider might trim, no Unicode a provider might
      // case-fold or normalize into a different model than the allowlist saw.
      if (c <= 0x20 || c >= 0x7F) {
        throw invalid(MODEL, "must be printable ASCII without spaces");
      }
    }
    return model;
  }

  /** Reads a non-negative integer field; returns {@link #ABSENT} for {@code null}. */
  private static long readCount(JsonParser parser, JsonToken value, String field)
      throws IOException, Refusal {
    if (value == JsonToken.VALUE_NULL) {
      return ABSENT;
    }
    if (value == JsonToken.VALUE_NUMBER_FLOAT) {
      throw invalid(field, "must be an integer without fraction or exponent");
    }
    if (value != JsonToken.VALUE_NUMBER_INT) {
      throw invalid(field, "must be a non-negative integer, not " + kind(value));
    }
    if (parser.getTextCharacters()[parser.getTextOffset()] == '-') {
      throw invalid(field, "must not be negative");
    }
    // Check the digit count before asking Jackson for a number type, so a long digit string is
    // never converted to a BigInteger. Long.MAX_VALUE has 19 digits.
    if (parser.getTextLength() > 19
        || parser.getNumberType() == JsonParser.NumberType.BIG_INTEGER) {
      throw invalid(field, "is too large");
    }
    return parser.getLongValue();
  }

  private static boolean readStream(JsonToken value) throws Refusal {
    if (value == JsonToken.VALUE_TRUE) {
      return true;
    }
    if (value == JsonToken.VALUE_FALSE || value == JsonToken.VALUE_NULL) {
      return false;
    }
    throw invalid(STREAM, "must be true or false, not " + kind(value));
  }

  /** Refuses top-level keys that a lenient decoder could read as a field of interest. */
  private static void checkOtherTopLevelKey(String key) throws Refusal {
    if (key.indexOf('\0') >= 0) {
      throw new Refusal(BodyProblem.INVALID_FIELD, "a top-level key contains U+0000");
    }
    for (String field : FIELDS_OF_INTEREST) {
      if (resembles(key, field)) {
        throw new Refusal(
            BodyProblem.INVALID_FIELD,
            "top-level key "
                + describeKey(key)
                + " resembles \""
                + field
                + "\": spell it exactly or leave it out");
      }
    }
  }

  /**
   * Whether {@code key} equals {@code field} (lower-case ASCII with underscores) when letter case
   * is folded and {@code _} / {@code -} are ignored.
   */
  static boolean resembles(String key, String field) {
    int i = 0;
    int j = 0;
    while (true) {
      while (i < key.length() && (key.charAt(i) == '_' || key.charAt(i) == '-')) {
        i++;
      }
      while (j < field.length() && field.charAt(j) == '_') {
        j++;
      }
      if (i == key.length() || j == field.length()) {
        return i == key.length() && j == field.length();
      }
      char c = key.charAt(i);
      // Upper then lower: folds K and U+212A KELVIN SIGN to k, S and U+017F LONG S to s.
      if (Character.toLowerCase(Character.toUpperCase(c)) != field.charAt(j)) {
        return false;
      }
      i++;
      j++;
    }
  }

  private static Refusal invalid(String field, String problem) {
    return new Refusal(BodyProblem.INVALID_FIELD, "\"" + field + "\" " + problem);
  }

  /** A short, quoted, printable-ASCII rendering of a client-supplied key for error details. */
  static String describeKey(String key) {
    StringBuilder out = new StringBuilder(MAX_KEY_IN_DETAIL + 5).append('"');
    int shown = Math.min(key.length(), MAX_KEY_IN_DETAIL);
    for (int i = 0; i < shown; i++) {
      char c = key.charAt(i);
      boolean safe = c > 0x20 && c < 0x7F && "\"\\<>&'`".indexOf(c) < 0;
      out.append(safe ? c : '?');
    }
    if (key.length() > shown) {
      out.append("...");
    }
    return out.append('"').toString();
  }

  private static String kind(JsonToken token) {
    if (token == null) {
      return "nothing";
    }
    return switch (token) {
      case START_OBJECT -> "an object";
      case START_ARRAY -> "an array";
      case VALUE_STRING -> "a string";
      case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> "a number";
      case VALUE_TRUE, VALUE_FALSE -> "a boolean";
      case VALUE_NULL -> "null";
      default -> "a " + token.name().toLowerCase(java.util.Locale.ROOT);
    };
  }

  private static String atOffset(JsonParseException e) {
    JsonLocation location = e.getLocation();
    long offset = location == null ? -1 : location.getByteOffset();
    return offset < 0 ? "" : " at byte offset " + offset;
  }

  private static int firstNonWhitespace(byte[] body, int from) {
    int i = from;
    while (i < body.length) {
      byte b = body[i];
      if (b != ' ' && b != '\t' && b != '\n' && b != '\r') {
        break;
      }
      i++;
    }
    return i;
  }

  private static OptionalLong optional(long value) {
    return value == ABSENT ? OptionalLong.empty() : OptionalLong.of(value);
  }

  private static BodyInspection.Rejected rejected(BodyProblem problem, String detail) {
    return new BodyInspection.Rejected(problem, detail);
  }

  private static void closeQuietly(JsonParser parser) {
    if (parser != null) {
      try {
        parser.close();
      } catch (IOException | RuntimeException ignored) {
        // Nothing to release for an in-memory source; the verdict is already decided.
      }
    }
  }

  /** Internal signal for a refusal found mid-parse; carries no stack trace. */
  private static final class Refusal extends Exception {
    private static final long serialVersionUID = 1L;

    final BodyProblem problem;
    final String detail;

    Refusal(BodyProblem problem, String detail) {
      super(detail, null, false, false);
      this.problem = problem;
      this.detail = detail;
    }
  }
}
