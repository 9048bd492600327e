package io.perishable.controlplane.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class DurationTextTest {
  @ParameterizedTest
  @CsvSource({"500ms,500", "30s,30000", "15m,900000", "1h,3600000", "1h30m,5400000",
      "2d,172800000"})
  void parse_validText_givesDuration(String text, long millis) {
    assertEquals(Duration.ofMillis(millis), DurationText.parse(text));
    assertEquals(text, DurationText.format(Duration.ofMillis(millis)));
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "soon", "10", "1.5h", "-1s", "1h 30m", "1x"})
  void parse_invalidText_saysWhatADurationLooksLike(String text) {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> DurationText.parse(text));
    assertEquals("expected a duration like 30s, 15m or 1h, got '" + text + "'", e.getMessage());
  }
}
