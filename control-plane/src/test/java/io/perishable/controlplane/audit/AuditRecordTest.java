package io.perishable.controlplane.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import org.bouncycastle.crypto.digests.Blake3Digest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class AuditRecordTest {
  private static final ChainHash PREV = ChainHash.fromHex("11".repeat(32));

  private static AuditRecord seal(AuditRecord.Builder b) {
    byte[] canonical = b.build(2, AuditFixtures.START_MS, PREV, ChainHash.GENESIS).canonicalBytes();
    ChainHash hash = new ChainHasher().next(PREV, canonical, 0, canonical.length, -1);
    return b.build(2, AuditFixtures.START_MS, PREV, hash);
  }

  private static String canonical(AuditRecord.Builder b) {
    return new String(seal(b).canonicalBytes(), StandardCharsets.UTF_8);
  }

  private static AuditRecord parse(String line) throws CanonicalJson.Malformed {
    byte[] b = line.getBytes(StandardCharsets.UTF_8);
    return CanonicalJson.parseLine(b, 0, b.length, new CanonicalJson.Sink(16)).record();
  }

  private static String parseFailure(String line) {
    return assertThrows(CanonicalJson.Malformed.class, () -> parse(line)).getMessage();
  }

  private static String blake3Hex(byte[] data) {
    Blake3Digest d = new Blake3Digest();
    d.update(data, 0, data.length);
    byte[] out = new byte[32];
    d.doFinal(out, 0);
    return HexFormat.of().formatHex(out);
  }

  @Test
  void blake3_isTheStandardOne() {
    assertEquals("6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85",
        blake3Hex("abc".getBytes(StandardCharsets.US_ASCII)));
  }

  @Test
  void chainRule_isBlake3OfPrevHashThenCanonicalBytes() {
    byte[] canonical = "{\"seq\":1}".getBytes(StandardCharsets.UTF_8);
    byte[] input = new byte[ChainHash.BYTES + canonical.length];
    System.arraycopy(PREV.bytes(), 0, input, 0, ChainHash.BYTES);
    System.arraycopy(canonical, 0, input, ChainHash.BYTES, canonical.length);
    assertEquals(blake3Hex(input),
        new ChainHasher().next(PREV, canonical, 0, canonical.length, -1).hex());
    // the verifier hashes a line in place: its canonical part, then the closing brace
    assertEquals(blake3Hex(input),
        new ChainHasher().next(PREV, canonical, 0, canonical.length - 1, '}').hex());
  }

  @Test
  void canonicalBytes_fieldsInTableOrder_absentOmitted_noWhitespace() {
    String json = canonical(AuditRecord.builder(AuditEventType.DENIED)
        .replicaId("authz-1").status(403).model("gpt-4o").tokenId("tok1").method("POST")
        .reasonCode("model_not_allowed").latencyUs(180L).agentId("a").requestId("r1")
        .endpoint("/v1/chat/completions"));
    assertEquals("{\"seq\":2,\"time_ms\":1764028800000,\"type\":\"denied\",\"token_id\":\"tok1\","
        + "\"agent_id\":\"a\",\"endpoint\":\"/v1/chat/completions\",\"method\":\"POST\","
        + "\"model\":\"gpt-4o\",\"reason_code\":\"model_not_allowed\",\"status\":403,"
        + "\"latency_us\":180,\"request_id\":\"r1\",\"replica_id\":\"authz-1\"}", json);
  }

  @Test
  void canonicalBytes_escapesOnlyQuoteBackslashAndControlCharacters() {
    String json = canonical(AuditRecord.builder(AuditEventType.REVOKED)
        .reason("a\"b\\c/d\n\t\r\b\f\u0001\u001f\u007f é ☃ \uD83D\uDE00 \u2028"));
    assertTrue(json.endsWith("\"reason\":\"a\\\"b\\\\c/d\\n\\t\\r\\b\\f\\u0001\\u001f\u007f é ☃ "
        + "\uD83D\uDE00 \u2028\"}"), json);
  }

  @Test
  void canonicalBytes_attributesSortedByCodePoint() {
    String json = canonical(AuditRecord.builder(AuditEventType.USED)
        .attribute("z", "1").attribute("\uFFFD", "2").attribute("\uD83D\uDE00", "3")
        .attribute("a", "4").attribute("é", "5"));
    // UTF-16 order would put U+1F600 (a surrogate pair) before U+FFFD; code point order after.
    assertTrue(json.endsWith("\"attributes\":{\"a\":\"4\",\"z\":\"1\",\"é\":\"5\","
        + "\"\uFFFD\":\"2\",\"\uD83D\uDE00\":\"3\"}}"), json);
  }

  @Test
  void exportLine_isCanonicalWithHashesAppended_andParsesBack() throws Exception {
    AuditRecord r = seal(AuditFixtures.denied(5).attribute("k", "v"));
    String line = new String(r.exportLine(), StandardCharsets.UTF_8);
    String canonical = new String(r.canonicalBytes(), StandardCharsets.UTF_8);
    assertEquals(canonical.substring(0, canonical.length() - 1) + ",\"prev_hash\":\""
        + PREV.hex() + "\",\"hash\":\"" + r.hash().hex() + "\"}", line);
    assertEquals(r, parse(line));
  }

  @Test
  void parse_unicodeAndEscapes_roundTrip() throws Exception {
    AuditRecord r = seal(AuditRecord.builder(AuditEventType.REVOKED)
        .selector("agent=ü\uD83D\uDE00").reason("q\"\\\u0000\n").attribute("\u2028", "x")
        .attribute("prev_hash", "an attribute, not the chain's").attribute("hash", "h"));
    assertEquals(r, parse(new String(r.exportLine(), StandardCharsets.UTF_8)));
  }

  @Test
  void parse_nonCanonicalButValidJson_saysNotCanonical() {
    String good = new String(seal(AuditFixtures.denied(5)).exportLine(), StandardCharsets.UTF_8);
    assertTrue(parseFailure(good.replace("\"seq\":2,", "\"seq\": 2,"))
        .startsWith("not canonical"));
    assertTrue(parseFailure(good.replace("\"method\":\"POST\"", "\"method\":\"\\u0050OST\""))
        .startsWith("not canonical"));
    assertTrue(parseFailure(good.replace("\"status\":403,\"latency_us\":180",
        "\"latency_us\":180,\"status\":403")).startsWith("not canonical"));
    assertTrue(parseFailure(good.replace("\"status\":403", "\"status\":403,\"extra\":1"))
        .startsWith("not canonical"));
    assertTrue(parseFailure(good.replace("\"status\":403", "\"status\":0403"))
        .startsWith("not JSON"));
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "\u0000\u0000\u0000", "{\"seq\":1", "hello", "[1,2]x"})
  void parse_garbage_saysNotJson(String line) {
    assertEquals("not JSON", parseFailure(line));
  }

  @Test
  void record_refusesTokensAndPrompts() {
    IllegalArgumentException token = assertThrows(IllegalArgumentException.class,
        () -> seal(AuditRecord.builder(AuditEventType.ISSUED).tokenId("prs_eyJhbGciOi.sig")));
    assertTrue(token.getMessage().contains("never tokens"), token.getMessage());
    assertThrows(IllegalArgumentException.class,
        () -> seal(AuditRecord.builder(AuditEventType.USED).promptHash("{\"messages\":[]}")));
    assertThrows(IllegalArgumentException.class,
        () -> seal(AuditRecord.builder(AuditEventType.USED).attribute("k", "prs_x.y")));
  }

  @Test
  void record_refusesACompletionHashThatIsNotASha256() throws Exception {
    IllegalArgumentException text = assertThrows(IllegalArgumentException.class,
        () -> seal(AuditRecord.builder(AuditEventType.COMPLETION)
            .attribute("completion_hash", "Hello! How can I help you today?")));
    assertTrue(text.getMessage().contains("never its text"), text.getMessage());
    assertThrows(IllegalArgumentException.class,
        () -> seal(AuditRecord.builder(AuditEventType.COMPLETION)
            .attribute("completion_hash", "AB".repeat(32))));
    AuditRecord ok = seal(AuditRecord.builder(AuditEventType.COMPLETION)
        .attribute("completion_hash", "ab".repeat(32)));
    assertEquals(ok, parse(new String(ok.exportLine(), StandardCharsets.UTF_8)));
  }

  @Test
  void record_refusesLoneSurrogates() {
    assertThrows(IllegalArgumentException.class,
        () -> seal(AuditRecord.builder(AuditEventType.USED).model("bad\uD800")));
  }

  @Test
  void record_emptyStringIsAbsent() {
    assertEquals(seal(AuditRecord.builder(AuditEventType.USED)),
        seal(AuditRecord.builder(AuditEventType.USED).model("").attribute("k", "")));
  }

  @Test
  void hashPrompt_isSha256OfTheBodyInHex() {
    assertEquals("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        AuditRecord.hashPrompt("abc".getBytes(StandardCharsets.US_ASCII)));
  }
}
