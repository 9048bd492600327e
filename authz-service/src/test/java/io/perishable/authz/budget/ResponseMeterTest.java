package io.perishable.authz.budget;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class ResponseMeterTest {
  private final List<MeteredResponse> metered = new ArrayList<>();
  private final ResponseMeter meter = new ResponseMeter(metered::add, 64 * 1024);

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void streamedResponse_usageAtTheEnd_reportedOnce() {
    meter.request("req-1", "tok-1", "openai");
    meter.responseHeaders(200, "text/event-stream", false);
    meter.responseBody(utf8("data: {\"choices\":[{\"delta\":{}}],\"usage\":null}\n\n"), false);
    meter.responseBody(utf8("data: {\"choices\":[],\"usage\":{\"prompt_tokens\":4,"
        + "\"completion_tokens\":6}}\n\ndata: [DONE]\n\n"), true);
    meter.cut(); // the stream closing afterwards changes nothing

    assertEquals(1, metered.size());
    MeteredResponse r = metered.get(0);
    assertEquals("req-1", r.requestId());
    assertEquals("tok-1", r.tokenId());
    assertEquals("openai", r.upstream());
    assertEquals(200, r.status());
    assertTrue(r.complete());
    assertEquals(Optional.of(new ReportedUsage(4, 6)), r.usage());
  }

  @Test
  void cutMidStream_reportedAsCutWithoutUsage() {
    meter.request("req-1", "tok-1", "openai");
    meter.responseHeaders(200, "text/event-stream", false);
    meter.responseBody(utf8("data: {\"usage\":{\"prompt_tokens\":4,\"completion_tokens\":6}}\n\n"),
        false);

    meter.cut();

    assertEquals(1, metered.size());
    assertFalse(metered.get(0).complete());
    assertEquals(Optional.empty(), metered.get(0).usage(),
        "a cut stream's usage is unknown, whatever it said so far");
  }

  @Test
  void headersOnlyResponse_reportedAtTheHeaders() {
    meter.request("req-1", "tok-1", "openai");
    meter.responseHeaders(204, "", true);

    assertEquals(1, metered.size());
    assertTrue(metered.get(0).complete());
    assertEquals(Optional.empty(), metered.get(0).usage());
  }

  @Test
  void noResponseAtAll_cut() {
    meter.request("req-1", "tok-1", "openai");
    meter.cut();

    assertEquals(1, metered.size());
    assertEquals(0, metered.get(0).status());
    assertFalse(metered.get(0).complete());
  }

  @Test
  void localReply_requestNeverForwarded_notReported() {
    meter.responseHeaders(403, "application/json", false);
    meter.responseBody(utf8("{\"error\":{\"code\":\"model_not_allowed\"}}"), true);
    meter.cut();

    assertEquals(List.of(), metered);
  }
}
