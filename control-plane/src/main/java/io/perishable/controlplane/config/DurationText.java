package io.perishable.controlplane.config;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Durations as people write them in config files and error messages: {@code 500ms}, {@code 30s},
 * {@code 15m}, {@code 1h}, {@code 2d}, or combinations such as {@code 1h30m}.
 */
public final class DurationText {
  private static final Pattern PART = Pattern.compile("(\\d+)(ms|s|m|h|d)");

  private DurationText() {}

  /** Parses {@code text}; throws IllegalArgumentException saying what a duration looks like. */
  public static Duration parse(String text) {
    String s = text.trim();
    if (s.isEmpty()) {
      throw new IllegalArgumentException("expected a duration like 30s, 15m or 1h, got ''");
    }
    Matcher m = PART.matcher(s);
    Duration total = Duration.ZERO;
    int at = 0;
    while (at < s.length()) {
      if (!m.find(at) || m.start() != at) {
        throw new IllegalArgumentException(
            "expected a duration like 30s, 15m or 1h, got '" + text + "'");
      }
      long n;
      try {
        n = Long.parseLong(m.group(1));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("duration '" + text + "' is too large");
      }
      total = total.plus(switch (m.group(2)) {
        case "ms" -> Duration.ofMillis(n);
        case "s" -> Duration.ofSeconds(n);
        case "m" -> Duration.ofMinutes(n);
        case "h" -> Duration.ofHours(n);
        default -> Duration.ofDays(n);
      });
      at = m.end();
    }
    return total;
  }

  /** The shortest exact rendering: {@code 1h}, {@code 90s}, {@code 1h30m}, {@code 250ms}. */
  public static String format(Duration d) {
    if (d.isZero()) {
      return "0s";
    }
    if (d.isNegative()) {
      return "-" + format(d.negated());
    }
    StringBuilder out = new StringBuilder();
    long days = d.toDays();
    long hours = d.toHoursPart();
    long minutes = d.toMinutesPart();
    long seconds = d.toSecondsPart();
    long millis = d.toMillisPart();
    long nanos = d.toNanosPart() % 1_000_000;
    if (days > 0) {
      out.append(days).append('d');
    }
    if (hours > 0) {
      out.append(hours).append('h');
    }
    if (minutes > 0) {
      out.append(minutes).append('m');
    }
    if (seconds > 0) {
      out.append(seconds).append('s');
    }
    if (millis > 0) {
      out.append(millis).append("ms");
    }
    if (nanos > 0) {
      out.append(nanos).append("ns");
    }
    return out.toString();
  }
}
