package io.perishable.authz.scope;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class RateLimitTest {

  @ParameterizedTest(name = "[{index}] \"{0}\"")
  @MethodSource("goodLimits")
  void parse_validLimit_parsed(String text, long permits, Duration per) {
    assertEquals(new RateLimit(permits, per), RateLimit.parse(text));
  }

  static Stream<Arguments> goodLimits() {
    return Stream.of(
        Arguments.of("100/minute", 100L, Duration.ofMinutes(1)),
        Arguments.of("10/second", 10L, Duration.ofSeconds(1)),
        Arguments.of("5000/hour", 5000L, Duration.ofHours(1)),
        Arguments.of("20000/day", 20000L, Duration.ofDays(1)),
        Arguments.of("20/10s", 20L, Duration.ofSeconds(10)),
        Arguments.of("300/5m", 300L, Duration.ofMinutes(5)),
        Arguments.of("1/2h", 1L, Duration.ofHours(2)),
        Arguments.of("7/1d", 7L, Duration.ofDays(1)),
        Arguments.of("3/15min", 3L, Duration.ofMinutes(15)),
        Arguments.of("3/30sec", 3L, Duration.ofSeconds(30)),
        Arguments.of("60/2minutes", 60L, Duration.ofMinutes(2)),
        Arguments.of("1/s", 1L, Duration.ofSeconds(1)),
        Arguments.of("9223372036854775807/day", Long.MAX_VALUE, Duration.ofDays(1)));
  }

  @ParameterizedTest(name = "[{index}] \"{0}\"")
  @MethodSource("badLimits")
  void parse_invalidLimit_throwsWithSpecificMessage(String text, String messageFragment) {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> RateLimit.parse(text));
    assertTrue(e.getMessage().contains(messageFragment), e.getMessage());
    assertTrue(e.getMessage().contains("'" + text + "'"), e.getMessage());
  }

  static Stream<Arguments> badLimits() {
    return Stream.of(
        Arguments.of("", "must look like <permits>/<period>"),
        Arguments.of("100", "must look like <permits>/<period>"),
        Arguments.of("100 per minute", "must look like <permits>/<period>"),
        Arguments.of("100/minute/x", "must look like <permits>/<period>"),
        Arguments.of("/minute", "missing the permits number"),
        Arguments.of("0/minute", "permits must be positive"),
        Arguments.of("-1/minute", "permits '-1' must be a positive whole number"),
        Arguments.of("+1/minute", "permits '+1' must be a positive whole number"),
        Arguments.of("1.5/minute", "permits '1.5' must be a positive whole number"),
        Arguments.of(" 100/minute", "permits ' 100' must be a positive whole number"),
        Arguments.of("ten/minute", "permits 'ten' must be a positive whole number"),
        Arguments.of("99999999999999999999/minute", "permits '99999999999999999999' is too large"),
        Arguments.of("100/", "missing the period unit"),
        Arguments.of("100/10", "missing the period unit"),
        Arguments.of("100/fortnight", "unknown period unit 'fortnight'"),
        Arguments.of("100/ms", "unknown period unit 'ms'"),
        Arguments.of("100/Minute", "unknown period unit 'Minute'"),
        Arguments.of("100/minute ", "unknown period unit 'minute '"),
        Arguments.of("100/ minute", "unknown period unit ' minute'"),
        Arguments.of("100/0s", "period must be positive"),
        Arguments.of("100/-5s", "unknown period unit '-5s'"),
        Arguments.of("100/1.5h", "unknown period unit '.5h'"),
        Arguments.of("100/9223372036854775807d", "period that is too long"),
        Arguments.of("100/200000d", "period that is too long"));
  }

  @Test
  void constructor_nonPositiveValues_throw() {
    assertThrows(IllegalArgumentException.class, () -> new RateLimit(0, Duration.ofSeconds(1)));
    assertThrows(IllegalArgumentException.class, () -> new RateLimit(1, Duration.ZERO));
    assertThrows(IllegalArgumentException.class, () -> new RateLimit(1, Duration.ofSeconds(-1)));
    assertThrows(NullPointerException.class, () -> new RateLimit(1, null));
  }

  @Test
  void parse_null_throwsNullPointer() {
    assertThrows(NullPointerException.class, () -> RateLimit.parse(null));
  }
}
