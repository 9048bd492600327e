package io.perishable.authz.body;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The validator agrees with the JDK's strict UTF-8 decoder, and also flags NUL bytes. */
class Utf8ValidatorTest {

  @Test
  void firstProblem_everyOneAndTwoByteInput_agreesWithJdkDecoder() {
    for (int a = 0; a < 256; a++) {
      assertAgrees(new byte[] {(byte) a});
      for (int b = 0; b < 256; b++) {
        assertAgrees(new byte[] {(byte) a, (byte) b});
      }
    }
  }

  @Test
  void firstProblem_everyThreeByteSequenceFromMultibyteLead_agreesWithJdkDecoder() {
    for (int a = 0xC0; a < 0x100; a++) {
      for (int b = 0; b < 256; b++) {
        for (int c = 0; c < 256; c++) {
          assertAgrees(new byte[] {(byte) a, (byte) b, (byte) c});
        }
      }
    }
  }

  @Test
  void firstProblem_fourByteSequencesAroundBoundaries_agreeWithJdkDecoder() {
    int[] interesting = {0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xF4, 0xFF};
    for (int a = 0xE0; a < 0x100; a++) {
      for (int b = 0; b < 256; b++) {
        for (int c : interesting) {
          for (int d : interesting) {
            assertAgrees(new byte[] {(byte) a, (byte) b, (byte) c, (byte) d});
          }
        }
      }
    }
  }

  @Test
  void firstProblem_randomMostlyAsciiInputs_agreeWithJdkDecoder() {
    SplittableRandom random = new SplittableRandom(20240611);
    for (int round = 0; round < 200_000; round++) {
      byte[] bytes = new byte[random.nextInt(40)];
      for (int i = 0; i < bytes.length; i++) {
        bytes[i] =
            (byte) (random.nextInt(8) == 0 ? random.nextInt(256) : 0x20 + random.nextInt(95));
      }
      assertAgrees(bytes);
    }
  }

  @ParameterizedTest
  @ValueSource(ints = {0x00, 0x80, 0xC0, 0xED, 0xFF})
  void firstProblem_badByteAtEveryOffset_reportsThatOffset(int bad) {
    for (int length = 1; length <= 40; length++) {
      for (int at = 0; at < length; at++) {
        byte[] bytes = new byte[length];
        Arrays.fill(bytes, (byte) 'a');
        bytes[at] = (byte) bad;
        assertEquals(at, Utf8Validator.firstProblem(bytes), "length " + length + " at " + at);
      }
    }
  }

  @Test
  void firstProblem_wellFormedText_minusOne() {
    String text = "plain ASCII, h\u00e9llo, \u65e5\u672c\u8a9e, \ud83d\ude00, \uffff".repeat(50);
    assertEquals(-1, Utf8Validator.firstProblem(text.getBytes(StandardCharsets.UTF_8)));
    assertEquals(-1, Utf8Validator.firstProblem(new byte[0]));
  }

  private static final ThreadLocal<CharsetDecoder> DECODER =
      ThreadLocal.withInitial(
          () ->
              StandardCharsets.UTF_8
                  .newDecoder()
                  .onMalformedInput(CodingErrorAction.REPORT)
                  .onUnmappableCharacter(CodingErrorAction.REPORT));

  private static void assertAgrees(byte[] bytes) {
    int expected = jdkFirstProblem(bytes);
    int actual = Utf8Validator.firstProblem(bytes);
    if (expected != actual) {
      assertEquals(expected, actual, "for bytes " + hex(bytes));
    }
  }

  /** First NUL byte or start of a malformed sequence according to the JDK decoder; else -1. */
  private static int jdkFirstProblem(byte[] bytes) {
    int nul = -1;
    for (int i = 0; i < bytes.length; i++) {
      if (bytes[i] == 0) {
        nul = i;
        break;
      }
    }
    CharsetDecoder decoder = DECODER.get().reset();
    ByteBuffer in = ByteBuffer.wrap(bytes);
    CoderResult result = decoder.decode(in, CharBuffer.allocate(bytes.length + 2), true);
    if (!result.isError()) {
      result = decoder.flush(CharBuffer.allocate(2));
    }
    int malformed = result.isError() ? in.position() : -1;
    if (nul < 0) {
      return malformed;
    }
    return malformed < 0 ? nul : Math.min(nul, malformed);
  }

  private static String hex(byte[] bytes) {
    StringBuilder out = new StringBuilder();
    for (byte b : bytes) {
      out.append(String.format("%02X ", b & 0xFF));
    }
    return out.toString().trim();
  }
}
