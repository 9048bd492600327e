package io.perishable.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The one table {@code bench/run} prints: a row per figure, with the baseline it is compared
 * to, the target from issue 6 and whether it was met. Measurements that depend on work not yet
 * built are rows too, saying which issue they wait for.
 */
public final class ResultTable {
  /** How a row stands against its target. */
  public enum Verdict {
    MET("ok"),
    MISSED("MISS"),
    INFO(""),
    PENDING("pending"),
    UNJUDGED("-");

    private final String label;

    Verdict(String label) {
      this.label = label;
    }
  }

  /**
   * One line of the table.
   *
   * @param section the issue's numbering: 1 Envoy, 2 Check, 3 Issue, 4 revocation, 5 memory
   * @param note shown after the verdict, e.g. by how much a target was missed
   */
  public record Row(String section, String measurement, String baseline, String perishable,
      String compared, String target, Verdict verdict, String note) {

    /** A measurement that cannot be made yet. */
    public static Row pending(String section, String measurement, String why, String target) {
      return new Row(section, measurement, "not yet measured: " + why, "", "", target,
          Verdict.PENDING, "");
    }
  }

  private static final String[] HEADERS =
      {"#", "measurement", "baseline", "perishable", "ratio / added", "target", "result"};

  private final String title;
  private final boolean judge;
  private final List<Row> rows = new ArrayList<>();

  /** @param judge false in smoke mode: runs too short to hold figures against targets */
  public ResultTable(String title, boolean judge) {
    this.title = title;
    this.judge = judge;
  }

  public void add(Row row) {
    rows.add(row);
  }

  /**
   * Adds a row whose figure {@code value} must be at least ({@code higherIsBetter}) or at most
   * {@code limit}; the verdict says by how much a miss was.
   */
  public void addJudged(String section, String measurement, String baseline, String perishable,
      String compared, String target, double value, double limit, boolean higherIsBetter,
      String unit) {
    Verdict verdict;
    String note = "";
    if (!judge) {
      verdict = Verdict.UNJUDGED;
    } else if (Double.isNaN(value)) {
      verdict = Verdict.MISSED;
      note = "no figure";
    } else if (higherIsBetter ? value >= limit : value <= limit) {
      verdict = Verdict.MET;
    } else {
      verdict = Verdict.MISSED;
      note = "by " + format(Math.abs(value - limit), unit);
    }
    rows.add(new Row(section, measurement, baseline, perishable, compared, target, verdict,
        note));
  }

  public List<Row> rows() {
    return List.copyOf(rows);
  }

  /** True if any judged row missed its target. */
  public boolean anyMissed() {
    return rows.stream().anyMatch(r -> r.verdict() == Verdict.MISSED);
  }

  /** The table as aligned plain text. */
  public String render() {
    List<String[]> cells = new ArrayList<>();
    cells.add(HEADERS);
    for (Row r : rows) {
      String result = (r.verdict().label + (r.note().isEmpty() ? "" : " " + r.note())).strip();
      cells.add(new String[] {r.section(), r.measurement(), r.baseline(), r.perishable(),
          r.compared(), r.target(), result});
    }
    int[] widths = new int[HEADERS.length];
    for (String[] line : cells) {
      for (int i = 0; i < line.length; i++) {
        widths[i] = Math.max(widths[i], line[i].length());
      }
    }
    StringBuilder out = new StringBuilder(title).append('\n');
    for (int n = 0; n < cells.size(); n++) {
      String[] line = cells.get(n);
      StringBuilder text = new StringBuilder();
      for (int i = 0; i < line.length; i++) {
        text.append(i == 0 ? "" : " | ").append(pad(line[i], widths[i]));
      }
      out.append(text.toString().stripTrailing()).append('\n');
      if (n == 0) {
        StringBuilder rule = new StringBuilder();
        for (int i = 0; i < widths.length; i++) {
          rule.append(i == 0 ? "" : "-+-").append("-".repeat(widths[i]));
        }
        out.append(rule).append('\n');
      }
    }
    return out.toString();
  }

  /** 1234.5 → "1,235"; small values keep a decimal or two. */
  public static String format(double value, String unit) {
    String number;
    double abs = Math.abs(value);
    if (Double.isNaN(value)) {
      number = "n/a";
    } else if (abs >= 100) {
      number = String.format(Locale.ROOT, "%,.0f", value);
    } else if (abs >= 10) {
      number = String.format(Locale.ROOT, "%.1f", value);
    } else {
      number = String.format(Locale.ROOT, "%.2f", value);
    }
    return unit.isEmpty() ? number : number + (unit.equals("x") ? "x" : " " + unit);
  }

  /** A latency in microseconds, shown in µs below 10 ms and in ms above. */
  public static String latency(double micros) {
    return Math.abs(micros) >= 10_000 ? format(micros / 1000, "ms") : format(micros, "us");
  }

  /** A latency difference with its sign. */
  public static String added(double micros) {
    return (micros >= 0 ? "+" : "") + latency(micros);
  }

  private static String pad(String s, int width) {
    return s + " ".repeat(width - s.length());
  }
}
