package io.perishable.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Reading what wrk and ghz print: every failure must show up as an error. */
class LoadOutputTest {

  private static final String WRK_OUTPUT = """
      Running 10s test @ http://127.0.0.1:10000/v1/chat/completions
        1 threads and 16 connections
      %s{"requests":20000,"duration_us":10000000,"status_errors":%d,"connect_errors":0,\
      "read_errors":0,"write_errors":0,"timeouts":%d,"p50_us":812,"p99_us":2950}
      """;

  @Test
  void wrk_cleanRun_readsRateAndPercentiles() {
    LoadResult result = Wrk.parse("alone", WRK_OUTPUT.formatted(Wrk.RESULT_PREFIX, 0, 0));

    assertTrue(result.clean());
    assertEquals(20000, result.requests());
    assertEquals(2000.0, result.rps(), 1e-9);
    assertEquals(812.0, result.p50Micros());
    assertEquals(2950.0, result.p99Micros());
  }

  @Test
  void wrk_non2xxAndTimeouts_areErrors() {
    LoadResult result = Wrk.parse("authz", WRK_OUTPUT.formatted(Wrk.RESULT_PREFIX, 7, 2));

    assertFalse(result.clean());
    assertEquals(9, result.errors());
    assertEquals("7 non-2xx/3xx responses, 2 socket errors or timeouts", result.errorDetail());
  }

  @Test
  void wrk_noSummaryLine_fails() {
    assertThrows(IllegalStateException.class,
        () -> Wrk.parse("broken", "script.lua:5: unexpected symbol near '='\n"));
  }

  @Test
  void wrk_script_setsMethodHeadersAndBodyFile() {
    Map<String, String> headers = new LinkedHashMap<>();
    headers.put("content-type", "application/json");
    headers.put("authorization", "Bearer prs_abc.def");

    String lua = Wrk.script(headers, Path.of("/tmp/body"));

    assertTrue(lua.contains("wrk.method = \"POST\""), lua);
    assertTrue(lua.contains("wrk.headers[ [==[authorization]==] ] = [==[Bearer prs_abc.def]==]"),
        lua);
    assertTrue(lua.contains("io.open([==[/tmp/body]==]"), lua);
  }

  @Test
  void ghz_readsRateAndPercentilesInNanoseconds() {
    LoadResult result = Ghz.parse("check", """
        {"count":5000,"rps":4987.5,"average":3000000,
         "latencyDistribution":[{"percentage":10,"latency":100000},
           {"percentage":50,"latency":1250000},{"percentage":99,"latency":4500000}],
         "statusCodeDistribution":{"OK":5000},"errorDistribution":{}}
        """);

    assertTrue(result.clean());
    assertEquals(4987.5, result.rps());
    assertEquals(1250.0, result.p50Micros());
    assertEquals(4500.0, result.p99Micros());
  }

  @Test
  void ghz_nonOkStatuses_areErrors() {
    LoadResult result = Ghz.parse("check", """
        {"count":100,"rps":50,"latencyDistribution":[],
         "statusCodeDistribution":{"OK":97,"Unavailable":3},
         "errorDistribution":{"rpc error: code = Unavailable desc = closed":3}}
        """);

    assertEquals(3, result.errors());
    assertEquals("3x rpc error: code = Unavailable desc = closed", result.errorDetail());
  }
}
