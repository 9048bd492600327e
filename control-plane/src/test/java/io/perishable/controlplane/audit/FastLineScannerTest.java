package io.perishable.controlplane.audit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The fast path may only ever accept what the full parser accepts. */
class FastLineScannerTest {
  private static byte[] line(AuditRecord.Builder b, long seq) {
    ChainHash prev = ChainHash.fromHex("ab".repeat(32));
    byte[] canonical =
        b.build(seq, AuditFixtures.START_MS, prev, ChainHash.GENESIS).canonicalBytes();
    ChainHash hash = new ChainHasher().next(prev, canonical, 0, canonical.length, -1);
    return b.build(seq, AuditFixtures.START_MS, prev, hash).exportLine();
  }

  private static List<byte[]> goodLines() {
    List<byte[]> lines = new ArrayList<>();
    lines.add(line(AuditFixtures.denied(3), 3));
    lines.add(line(AuditFixtures.issued(4).keyId("abc"), 4));
    lines.add(line(AuditRecord.builder(AuditEventType.REVOKED)
        .selector("agent=ü-\uD83D\uDE00 ☃").reason("q\" b\\ / \t\n\r\b\f \u0000\u001f\u007f")
        .attribute("a", "1").attribute("é", "2").attribute("\uD83D\uDE00", "3"), 10));
    lines.add(line(AuditRecord.builder(AuditEventType.RESPONSE).status(-5)
        .latencyUs(999_999_999_999_999_999L).requestId("r"), 1));
    lines.add(line(AuditRecord.builder(AuditEventType.EXPIRED).tokenId("t"), 999_999_999L));
    lines.add(line(AuditRecord.builder(AuditEventType.COMPLETION).tokenId("t").requestId("r")
        .attribute("completion_hash", "0123456789abcdef".repeat(4)).attribute("z", "1"), 7));
    return lines;
  }

  private static boolean slowAccepts(byte[] b) {
    try {
      CanonicalJson.parseLine(b, 0, b.length, new CanonicalJson.Sink(64));
      return true;
    } catch (CanonicalJson.Malformed e) {
      return false;
    }
  }

  @Test
  void goodLines_acceptedByBoth_withTheSameSeqAndBoundary() throws Exception {
    FastLineScanner fast = new FastLineScanner();
    for (byte[] b : goodLines()) {
      assertTrue(fast.scan(b, 0, b.length), new String(b, StandardCharsets.UTF_8));
      CanonicalJson.Parsed parsed =
          CanonicalJson.parseLine(b, 0, b.length, new CanonicalJson.Sink(64));
      assertEquals(parsed.record().seq(), fast.seq);
      assertEquals(parsed.record().timeMs(), fast.timeMs);
      assertEquals(parsed.canonicalEnd(), fast.canonicalEnd);
      assertArrayEquals(parsed.record().prevHash().bytes(), fast.prev);
      assertArrayEquals(parsed.record().hash().bytes(), fast.hash);
    }
  }

  @Test
  void nineteenDigitIntegers_leftToTheFullParser() {
    byte[] b = line(AuditRecord.builder(AuditEventType.RESPONSE).latencyUs(Long.MAX_VALUE), 1);
    assertTrue(slowAccepts(b));
    assertFalse(new FastLineScanner().scan(b, 0, b.length));
  }

  @Test
  void checkpoints_leftToTheFullParser() {
    byte[] b = line(AuditRecord.builder(AuditEventType.CHECKPOINT).checkpointSeq(1L)
        .checkpointHash(ChainHash.GENESIS).keyId("k").signature("00".repeat(64)), 2);
    assertTrue(slowAccepts(b));
    assertFalse(new FastLineScanner().scan(b, 0, b.length));
  }

  @Test
  void mutatedLines_fastNeverAcceptsWhatTheParserRefuses() {
    Random random = new Random(20251125);
    FastLineScanner fast = new FastLineScanner();
    byte[] interesting = "{}[]\",:\\0123456789abcdefu-prs_ \u0000\n\u007f"
        .getBytes(StandardCharsets.ISO_8859_1);
    int fastAccepted = 0;
    List<byte[]> good = goodLines();
    for (int i = 0; i < 200_000; i++) {
      byte[] b = good.get(random.nextInt(good.size())).clone();
      int edits = 1 + random.nextInt(3);
      for (int e = 0; e < edits; e++) {
        int at = random.nextInt(b.length);
        switch (random.nextInt(5)) {
          case 0:
            b[at] ^= (byte) (1 << random.nextInt(8));
            break;
          case 1:
            b[at] = interesting[random.nextInt(interesting.length)];
            break;
          case 2:
            b = concat(Arrays.copyOf(b, at), new byte[] {(byte) random.nextInt(256)},
                Arrays.copyOfRange(b, at, b.length));
            break;
          case 3:
            b = concat(Arrays.copyOf(b, at), Arrays.copyOfRange(b, at + 1, b.length));
            break;
          default:
            b = concat(Arrays.copyOf(b, at), new byte[] {(byte) (0xc0 + random.nextInt(64)),
                (byte) (0x80 + random.nextInt(64))}, Arrays.copyOfRange(b, at, b.length));
        }
      }
      if (fast.scan(b, 0, b.length)) {
        fastAccepted++;
        if (!slowAccepts(b)) {
          fail("fast path accepted a line the parser refuses: "
              + new String(b, StandardCharsets.ISO_8859_1));
        }
      }
    }
    assertTrue(fastAccepted > 0, "the mutations should sometimes stay canonical");
  }

  @Test
  void skipPlain_stopsAtTheFirstSpecialByte_atEveryAlignment() {
    Random random = new Random(11);
    byte[] near = {'"', '\\', 0x1f, 0x20, 0x21, 0x23, 0x5b, 0x5d, 0x7f, (byte) 0x80,
        (byte) 0xa2, (byte) 0xdc, 0, 'a'};
    for (int round = 0; round < 50_000; round++) {
      byte[] b = new byte[1 + random.nextInt(40)];
      for (int i = 0; i < b.length; i++) {
        b[i] = random.nextInt(3) == 0 ? near[random.nextInt(near.length)]
            : (byte) (0x20 + random.nextInt(0x60));
      }
      int from = random.nextInt(b.length);
      int to = from + random.nextInt(b.length - from + 1);
      int expected = to;
      for (int i = from; i < to; i++) {
        int c = b[i] & 0xff;
        if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\') {
          expected = i;
          break;
        }
      }
      assertEquals(expected, FastLineScanner.skipPlain(b, from, to),
          Arrays.toString(b) + " from " + from + " to " + to);
    }
  }

  private static byte[] concat(byte[]... parts) {
    int n = 0;
    for (byte[] p : parts) {
      n += p.length;
    }
    byte[] out = new byte[n];
    int at = 0;
    for (byte[] p : parts) {
      System.arraycopy(p, 0, out, at, p.length);
      at += p.length;
    }
    return out;
  }
}
