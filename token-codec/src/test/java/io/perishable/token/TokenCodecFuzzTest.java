package io.perishable.token;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.util.Base64;

/**
 * Fuzzes the token decoder with arbitrary strings. Properties: it never throws anything but
 * {@link MalformedTokenException}, and anything it accepts has exactly one spelling (the
 * canonical re-encoding is the input). Seeds run in every build; {@code bin/fuzz} fuzzes.
 */
class TokenCodecFuzzTest {
  private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();

  @FuzzTest(maxDuration = "20s")
  void decode_anyString_malformedOrCanonical(String input) {
    DecodedToken decoded;
    try {
      decoded = TokenCodec.decode(input);
    } catch (MalformedTokenException expected) {
      return;
    }
    String canonical = TokenFormat.PREFIX + B64.encodeToString(decoded.claimBytes()) + "."
        + B64.encodeToString(decoded.signature());
    assertEquals(canonical, input);
  }
}
