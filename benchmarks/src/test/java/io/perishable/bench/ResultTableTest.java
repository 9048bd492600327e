package io.perishable.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.perishable.bench.ResultTable.Row;
import io.perishable.bench.ResultTable.Verdict;
import org.junit.jupiter.api.Test;

class ResultTableTest {

  @Test
  void judged_atLeastTarget_metOrMissedByHowMuch() {
    ResultTable table = new ResultTable("t", true);
    table.addJudged("1", "throughput", "", "", "", ">= 0.85x", 0.9, 0.85, true, "x");
    table.addJudged("1", "throughput", "", "", "", ">= 0.85x", 0.8, 0.85, true, "x");

    assertEquals(Verdict.MET, table.rows().get(0).verdict());
    assertEquals(Verdict.MISSED, table.rows().get(1).verdict());
    assertEquals("by 0.05x", table.rows().get(1).note());
    assertTrue(table.anyMissed());
  }

  @Test
  void judged_atMostTarget() {
    ResultTable table = new ResultTable("t", true);
    table.addJudged("5", "heap", "", "", "", "<= 300 B", 420, 300, false, "B");

    assertEquals("by 120 B", table.rows().get(0).note());
  }

  @Test
  void smoke_isNotJudged() {
    ResultTable table = new ResultTable("t", false);
    table.addJudged("1", "throughput", "", "", "", ">= 0.85x", 0.1, 0.85, true, "x");

    assertEquals(Verdict.UNJUDGED, table.rows().get(0).verdict());
    assertFalse(table.anyMissed());
  }

  @Test
  void pendingRow_namesTheIssueItWaitsFor() {
    ResultTable table = new ResultTable("title", true);
    table.add(Row.pending("4", "revocation", "needs issue 3", "p99 <= 10 ms"));

    String text = table.render();

    assertTrue(text.startsWith("title\n"), text);
    assertTrue(text.contains("not yet measured: needs issue 3"), text);
    assertTrue(text.contains("p99 <= 10 ms"), text);
    assertTrue(text.contains("pending"), text);
  }

  @Test
  void latency_switchesToMillisecondsAt10ms() {
    assertEquals("812 us", ResultTable.latency(812));
    assertEquals("12.5 ms", ResultTable.latency(12_500));
    assertEquals("+1.50 us", ResultTable.added(1.5));
    assertEquals("-105 us", ResultTable.added(-105));
  }
}
