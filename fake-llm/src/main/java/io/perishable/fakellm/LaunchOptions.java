package io.perishable.fakellm;

import java.util.Map;
import java.util.Set;

/**
 * Command-line settings for {@link FakeLlmUpstream#main(String[])}.
 *
 * @param port the loopback port, 0 for an ephemeral one
 * @param openAiKey the expected OpenAI key, or null to accept any credential
 * @param anthropicKey the expected Anthropic key, or null to accept any credential
 * @param help true when {@code --help} was given
 */
record LaunchOptions(int port, String openAiKey, String anthropicKey, boolean help) {

  static final String USAGE =
      "usage: fake-llm [--port N] [--openai-key KEY] [--anthropic-key KEY]\n"
          + "  --port N             loopback port to listen on (default 0: any free port)\n"
          + "  --openai-key KEY     expected 'Authorization: Bearer KEY' (env FAKE_OPENAI_KEY)\n"
          + "  --anthropic-key KEY  expected 'x-api-key: KEY' (env FAKE_ANTHROPIC_KEY)\n"
          + "A key that is not set, or is blank, means any credential is accepted.";

  static final String OPENAI_KEY_ENV = "FAKE_OPENAI_KEY";
  static final String ANTHROPIC_KEY_ENV = "FAKE_ANTHROPIC_KEY";

  private static final Set<String> FLAGS = Set.of("--port", "--openai-key", "--anthropic-key");

  /**
   * Reads {@code --name value} or {@code --name=value} flags; a flag wins over its environment
   * variable, and a blank key counts as no key.
   *
   * @throws IllegalArgumentException naming the offending flag or value
   */
  static LaunchOptions parse(String[] args, Map<String, String> env) {
    int port = 0;
    String openAiKey = env.get(OPENAI_KEY_ENV);
    String anthropicKey = env.get(ANTHROPIC_KEY_ENV);
    for (int i = 0; i < args.length; i++) {
      String arg = args[i];
      if (arg.equals("--help") || arg.equals("-h")) {
        return new LaunchOptions(port, blankToNull(openAiKey), blankToNull(anthropicKey), true);
      }
      int equals = arg.indexOf('=');
      String flag = equals > 0 ? arg.substring(0, equals) : arg;
      if (!FLAGS.contains(flag)) {
        throw new IllegalArgumentException("unknown argument '" + arg + "'");
      }
      String value;
      if (equals > 0) {
        value = arg.substring(equals + 1);
      } else if (i + 1 < args.length) {
        value = args[++i];
      } else {
        throw new IllegalArgumentException(flag + " needs a value");
      }
      switch (flag) {
        case "--port" -> port = parsePort(value);
        case "--openai-key" -> openAiKey = value;
        default -> anthropicKey = value;
      }
    }
    return new LaunchOptions(port, blankToNull(openAiKey), blankToNull(anthropicKey), false);
  }

  private static int parsePort(String value) {
    int port;
    try {
      port = Integer.parseInt(value);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("--port must be a number, was '" + value + "'", e);
    }
    if (port < 0 || port > 65_535) {
      throw new IllegalArgumentException("--port must be between 0 and 65535, was " + port);
    }
    return port;
  }

  private static String blankToNull(String key) {
    return key == null || key.isBlank() ? null : key;
  }
}
