package io.perishable.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.ToDoubleFunction;

/**
 * Several setups measured in alternating rounds (A, B, C, A, B, C, …), so background load that
 * comes and goes hits all of them alike. Figures are medians over the rounds; comparisons are
 * medians of the per-round comparisons.
 */
final class Rounds {
  /** One setup's run in round {@code round} (0-based). */
  @FunctionalInterface
  interface Side {
    LoadResult run(int round) throws Exception;
  }

  private final List<List<LoadResult>> results = new ArrayList<>();

  private Rounds() {}

  /** Runs every side once per round, in the order given; side {@code i} is index {@code i}. */
  static Rounds run(int rounds, Side... sides) throws Exception {
    Rounds all = new Rounds();
    for (int i = 0; i < sides.length; i++) {
      all.results.add(new ArrayList<>());
    }
    for (int round = 0; round < rounds; round++) {
      for (int i = 0; i < sides.length; i++) {
        all.results.get(i).add(sides[i].run(round));
      }
    }
    return all;
  }

  /** Median of side {@code side}'s figure. */
  double median(int side, ToDoubleFunction<LoadResult> figure) {
    return median(results.get(side).stream().mapToDouble(figure).toArray());
  }

  /** Median over rounds of {@code side}'s figure divided by {@code baseline}'s. */
  double ratio(int side, int baseline, ToDoubleFunction<LoadResult> figure) {
    return perRound(side, baseline, figure, true);
  }

  /** Median over rounds of {@code side}'s figure minus {@code baseline}'s. */
  double added(int side, int baseline, ToDoubleFunction<LoadResult> figure) {
    return perRound(side, baseline, figure, false);
  }

  private double perRound(int side, int baseline, ToDoubleFunction<LoadResult> figure,
      boolean divide) {
    List<LoadResult> a = results.get(side);
    List<LoadResult> b = results.get(baseline);
    double[] values = new double[a.size()];
    for (int i = 0; i < values.length; i++) {
      double x = figure.applyAsDouble(a.get(i));
      double y = figure.applyAsDouble(b.get(i));
      values[i] = divide ? x / y : x - y;
    }
    return median(values);
  }

  static double median(double[] values) {
    if (values.length == 0) {
      return Double.NaN;
    }
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    int mid = sorted.length / 2;
    return sorted.length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  }
}
