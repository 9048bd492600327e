package io.perishable.fakellm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;

class LaunchOptionsTest {

  private static final Map<String, String> ENV =
      Map.of("FAKE_OPENAI_KEY", "sk-env", "FAKE_ANTHROPIC_KEY", "ant-env");

  @Test
  void parse_noArgs_ephemeralPortAndKeysFromEnvironment() {
    assertEquals(
        new LaunchOptions(0, "sk-env", "ant-env", false), LaunchOptions.parse(new String[0], ENV));
  }

  @Test
  void parse_flagsOverrideEnvironment_inBothSpellings() {
    String[] args = {"--port", "8089", "--openai-key=sk-flag", "--anthropic-key", "ant-flag"};

    assertEquals(
        new LaunchOptions(8089, "sk-flag", "ant-flag", false), LaunchOptions.parse(args, ENV));
  }

  @Test
  void parse_blankKey_acceptsAnyCredential() {
    LaunchOptions options =
        LaunchOptions.parse(new String[] {"--openai-key="}, Map.of("FAKE_ANTHROPIC_KEY", " "));

    assertEquals(new LaunchOptions(0, null, null, false), options);
  }

  @Test
  void parse_portOutOfRange_rejectedWithTheValue() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> LaunchOptions.parse(new String[] {"--port", "70000"}, Map.of()));

    assertEquals("--port must be between 0 and 65535, was 70000", e.getMessage());
  }

  @Test
  void parse_portNotANumber_rejectedWithTheValue() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> LaunchOptions.parse(new String[] {"--port=eighty"}, Map.of()));

    assertEquals("--port must be a number, was 'eighty'", e.getMessage());
  }

  @Test
  void parse_flagWithoutValue_rejected() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> LaunchOptions.parse(new String[] {"--openai-key"}, Map.of()));

    assertEquals("--openai-key needs a value", e.getMessage());
  }

  @Test
  void parse_unknownFlag_rejected() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> LaunchOptions.parse(new String[] {"--host", "0.0.0.0"}, Map.of()));

    assertEquals("unknown argument '--host'", e.getMessage());
  }

  @Test
  void parse_help_requestsUsage() {
    assertTrue(LaunchOptions.parse(new String[] {"--help"}, Map.of()).help());
  }
}
