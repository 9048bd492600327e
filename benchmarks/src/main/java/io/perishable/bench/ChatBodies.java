package io.perishable.bench;

import java.nio.charset.StandardCharsets;

/** OpenAI chat-completions request bodies of an exact size, as an agent would send them. */
public final class ChatBodies {
  /** The model every benchmark token is granted. */
  public static final String MODEL = "gpt-4o-mini";

  private static final String PREFIX =
      "{\"model\":\"" + MODEL + "\",\"max_tokens\":64,\"temperature\":0.2,\"messages\":[";
  /** As {@link #PREFIX}, asking for server-sent events with the usage in the last one. */
  private static final String STREAMING_PREFIX = "{\"model\":\"" + MODEL + "\",\"max_tokens\":64,"
      + "\"stream\":true,\"stream_options\":{\"include_usage\":true},\"messages\":[";
  private static final String SYSTEM = "{\"role\":\"system\",\"content\":\"You are a careful "
      + "assistant. Answer briefly and cite the documents you were given.\"}";
  private static final String SUFFIX = "]}";
  private static final String TEXT = "The quarterly report lists revenue by region, the open "
      + "incidents and their owners, and the follow-up actions agreed in the review meeting. ";

  private ChatBodies() {}

  /**
   * A chat body of exactly {@code bytes} bytes: a system message, then user messages of about
   * 1 KB each, the last one padded so the total comes out exact.
   *
   * @throws IllegalArgumentException if {@code bytes} is too small for a system and one user
   *     message
   */
  public static byte[] ofSize(int bytes) {
    return ofSize(PREFIX, bytes);
  }

  /**
   * As {@link #ofSize}, with {@code "stream":true} and {@code stream_options.include_usage}: the
   * answer comes as server-sent events, the last with the usage (OpenAI's streaming shape).
   */
  public static byte[] streamingOfSize(int bytes) {
    return ofSize(STREAMING_PREFIX, bytes);
  }

  private static byte[] ofSize(String prefix, int bytes) {
    String userOpen = ",{\"role\":\"user\",\"content\":\"";
    String userClose = "\"}";
    int fixed = prefix.length() + SYSTEM.length() + SUFFIX.length();
    if (bytes < fixed + userOpen.length() + userClose.length() + 1) {
      throw new IllegalArgumentException("a chat body needs at least "
          + (fixed + userOpen.length() + userClose.length() + 1) + " bytes, asked for " + bytes);
    }
    StringBuilder out = new StringBuilder(bytes).append(prefix).append(SYSTEM);
    int perMessage = userOpen.length() + userClose.length();
    while (true) {
      int room = bytes - out.length() - SUFFIX.length() - perMessage;
      // Keep at least one character for a following message, so the last one is never empty.
      int content = room > 1024 + perMessage + 1 ? 1024 : room;
      out.append(userOpen).append(text(content)).append(userClose);
      if (content == room) {
        break;
      }
    }
    out.append(SUFFIX);
    byte[] body = out.toString().getBytes(StandardCharsets.UTF_8);
    if (body.length != bytes) {
      throw new IllegalStateException("built " + body.length + " bytes, wanted " + bytes);
    }
    return body;
  }

  private static String text(int length) {
    StringBuilder text = new StringBuilder(length);
    while (text.length() < length) {
      text.append(TEXT, 0, Math.min(TEXT.length(), length - text.length()));
    }
    return text.toString();
  }
}
