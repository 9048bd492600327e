package io.perishable.authz.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.perishable.proto.v1.DecisionReport;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real kill -9: a child JVM appends to a spool as fast as it can and reports how far it got;
 * the test kills it with SIGKILL (no shutdown hooks, no close, no fsync) and reopens the spool.
 * Every decision whose append had returned is there, numbered without gaps, and the seq goes on.
 */
class SpoolKillTest {
  @TempDir
  Path dir;

  static ReportConfig config(Path dir) {
    return ReportFixtures.config(dir).withSpool(256L << 20, SpoolFullPolicy.FAIL_CLOSED)
        .withSegmentBytes(1 << 20);
  }

  /** The child: appends until killed, printing the seq after every 100th append. */
  public static final class Child {
    public static void main(String[] args) throws Exception {
      // Background fsync is not even started: nothing is fsynced before the kill.
      Spool spool = Spool.open(config(Path.of(args[0])), () -> {});
      for (long n = 1; ; n++) {
        long seq = spool.append(DecisionReport.newBuilder().setRequestId("req-" + n).build());
        if (seq % 100 == 0) {
          System.out.println("appended " + seq);
          System.out.flush();
        }
      }
    }
  }

  @Test
  void kill9_losesNoDecisionWhoseAppendReturned() throws Exception {
    Process child = new ProcessBuilder(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), Child.class.getName(), dir.toString())
        .redirectErrorStream(true)
        .start();
    long appended = 0;
    try (BufferedReader out = new BufferedReader(
        new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while (appended < 5000 && (line = out.readLine()) != null) {
        if (line.startsWith("appended ")) {
          appended = Long.parseLong(line.substring("appended ".length()));
        }
      }
      child.destroyForcibly(); // SIGKILL on Unix
      assertTrue(child.waitFor(10, TimeUnit.SECONDS));
    }
    assertTrue(appended >= 5000, "child got to " + appended);

    try (Spool spool = Spool.open(config(dir), () -> {})) {
      long last = spool.lastSeq();
      assertTrue(last >= appended, "recovered through " + last + ", child had appended "
          + appended);
      long expected = 1;
      Spool.Cursor at = spool.cursorAfterAck();
      for (Spool.Batch b = spool.read(at, 1000); !b.isEmpty(); b = spool.read(b.next(), 1000)) {
        for (DecisionReport r : b.reports()) {
          assertEquals(expected, r.getSeq());
          assertEquals("req-" + expected, r.getRequestId());
          expected++;
        }
      }
      assertEquals(last + 1, expected, "every recovered decision reads back");
      assertNotNull(spool.recovery());
      assertEquals(last + 1, spool.append(DecisionReport.getDefaultInstance()));
    }
  }
}
