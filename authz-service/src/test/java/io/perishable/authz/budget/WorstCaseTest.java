package io.perishable.authz.budget;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.perishable.authz.body.BodyFacts;
import java.util.Optional;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

class WorstCaseTest {
  private static BodyFacts body(OptionalLong maxTokens, OptionalLong maxCompletion,
      OptionalLong n, int bytes) {
    return new BodyFacts(Optional.of("gpt-4o-mini"), maxTokens, maxCompletion, n, false, bytes);
  }

  @Test
  void of_maxTokensTimesNPlusBodyBytes() {
    BodyFacts facts = body(OptionalLong.of(100), OptionalLong.empty(), OptionalLong.of(3), 500);
    assertEquals(OptionalLong.of(800), WorstCase.of(facts, OptionalLong.empty()));
  }

  @Test
  void of_bothFields_theLargerCounts() {
    BodyFacts facts = body(OptionalLong.of(100), OptionalLong.of(250), OptionalLong.empty(), 10);
    assertEquals(OptionalLong.of(260), WorstCase.of(facts, OptionalLong.of(5)));
  }

  @Test
  void of_noMaxTokenField_defaultApplies() {
    BodyFacts facts = body(OptionalLong.empty(), OptionalLong.empty(), OptionalLong.of(2), 40);
    assertEquals(OptionalLong.of(2 * 1024 + 40), WorstCase.of(facts, OptionalLong.of(1024)));
  }

  @Test
  void of_noMaxTokenFieldNoDefault_empty() {
    BodyFacts facts = body(OptionalLong.empty(), OptionalLong.empty(), OptionalLong.empty(), 40);
    assertEquals(OptionalLong.empty(), WorstCase.of(facts, OptionalLong.empty()));
  }

  @Test
  void of_hugeFigures_saturateInsteadOfOverflowing() {
    BodyFacts facts = body(OptionalLong.of(Long.MAX_VALUE / 2), OptionalLong.empty(),
        OptionalLong.of(4), 10);
    assertEquals(OptionalLong.of(Long.MAX_VALUE), WorstCase.of(facts, OptionalLong.empty()));
  }
}
