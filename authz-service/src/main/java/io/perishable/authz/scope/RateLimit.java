package io.perishable.authz.scope;

import java.time.Duration;
import java.util.Objects;

/**
 * A request rate: at most {@code permits} requests per {@code per}. A description only; enforcing
 * it (and reading a clock) happens elsewhere.
 *
 * @param permits requests allowed per period; positive
 * @param per the period; positive
 */
public record RateLimit(long permits, Duration per) {

  /**
   * Validates.
   *
   * @throws IllegalArgumentException if permits or the period is not positive
   */
  public RateLimit {
    Objects.requireNonNull(per, "per");
    if (permits <= 0) {
      throw new IllegalArgumentException("rate limit permits must be positive, got " + permits);
    }
    if (per.isZero() || per.isNegative()) {
      throw new IllegalArgumentException("rate limit period must be positive, got " + per);
    }
  }

  /**
   * Parses {@code <permits>/[<count>]<unit>}: {@code 100/minute}, {@code 10/second}, {@code
   * 5000/hour}, {@code 20000/day}, {@code 20/10s}, {@code 300/5m}. Units: {@code s}, {@code sec},
   * {@code second(s)}; {@code m}, {@code min}, {@code minute(s)}; {@code h}, {@code hour(s)};
   * {@code d}, {@code day(s)}. Numbers are plain decimal digits; no whitespace, signs or fractions.
   *
   * @throws IllegalArgumentException saying what is wrong with {@code text}
   */
  public static RateLimit parse(String text) {
    Objects.requireNonNull(text, "rate limit");
    int slash = text.indexOf('/');
    if (slash < 0 || text.indexOf('/', slash + 1) >= 0) {
      throw invalid(text, "must look like <permits>/<period>, e.g. 100/minute or 20/10s");
    }
    String permitsText = text.substring(0, slash);
    String periodText = text.substring(slash + 1);
    long permits = positiveNumber(text, permitsText, "permits");
    int unitStart = 0;
    while (unitStart < periodText.length() && isDigit(periodText.charAt(unitStart))) {
      unitStart++;
    }
    long count =
        unitStart == 0 ? 1 : positiveNumber(text, periodText.substring(0, unitStart), "period");
    Duration unit = unit(text, periodText.substring(unitStart));
    Duration per;
    try {
      per = unit.multipliedBy(count);
      per.toNanos(); // anything longer than ~292 years is a typo; refuse it
    } catch (ArithmeticException e) {
      throw invalid(text, "has a period that is too long");
    }
    return new RateLimit(permits, per);
  }

  private static long positiveNumber(String text, String number, String what) {
    if (number.isEmpty()) {
      throw invalid(text, "is missing the " + what + " number");
    }
    for (int i = 0; i < number.length(); i++) {
      if (!isDigit(number.charAt(i))) {
        throw invalid(text, what + " '" + number + "' must be a positive whole number");
      }
    }
    long value;
    try {
      value = Long.parseLong(number);
    } catch (NumberFormatException e) {
      throw invalid(text, what + " '" + number + "' is too large");
    }
    if (value == 0) {
      throw invalid(text, what + " must be positive, not 0");
    }
    return value;
  }

  private static Duration unit(String text, String unit) {
    return switch (unit) {
      case "s", "sec", "second", "seconds" -> Duration.ofSeconds(1);
      case "m", "min", "minute", "minutes" -> Duration.ofMinutes(1);
      case "h", "hour", "hours" -> Duration.ofHours(1);
      case "d", "day", "days" -> Duration.ofDays(1);
      case "" -> throw invalid(text, "is missing the period unit (second, minute, hour or day)");
      default ->
          throw invalid(
              text, "has unknown period unit '" + unit + "'; use second, minute, hour or day");
    };
  }

  private static boolean isDigit(char c) {
    return c >= '0' && c <= '9';
  }

  private static IllegalArgumentException invalid(String text, String problem) {
    return new IllegalArgumentException("rate limit '" + text + "' " + problem);
  }
}
