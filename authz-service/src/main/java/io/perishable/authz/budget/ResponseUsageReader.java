package io.perishable.authz.budget;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.async.ByteArrayFeeder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Optional;

/**
 * Reads the usage a provider reports from a response body as it passes, chunk by chunk, and
 * hashes the body, without ever holding the whole of it.
 *
 * <p>Two shapes:
 *
 * <ul>
 *   <li>JSON ({@code application/json}): the top-level {@code usage} object, OpenAI's
 *       {@code prompt_tokens}/{@code completion_tokens} or Anthropic's {@code
 *       input_tokens}/{@code output_tokens}. Parsed by a non-blocking parser fed each chunk.
 *   <li>Server-sent events ({@code text/event-stream}): each event's {@code data} is parsed on
 *       its own. OpenAI streams report usage in a last chunk with a top-level {@code usage}
 *       (when the request set {@code stream_options.include_usage}); Anthropic streams report
 *       input tokens in {@code message_start}'s {@code message.usage} and the running output
 *       count in each {@code message_delta}'s {@code usage}. The last value seen wins. Only the
 *       event being read is buffered, up to {@code maxEventBytes}.
 * </ul>
 *
 * <p>{@link #finish()} is empty when the response reported no usage, was not parseable, or was
 * cut: the caller then charges the reservation's worst case. The completion hash is SHA-256
 * over the exact body bytes, for the audit record; the text itself is never kept.
 *
 * <p>Not thread-safe: one reader per response.
 */
public final class ResponseUsageReader {
  private static final JsonFactory JSON = JsonFactory.builder().build();
  private static final int MAX_DEPTH = 64;

  private final boolean eventStream;
  private final int maxEventBytes;
  private final MessageDigest digest;
  private final UsageFields fields = new UsageFields();
  private boolean failed;

  // JSON mode.
  private JsonParser parser;
  private PathTracker path;

  // Event-stream mode: the current line and the current event's data.
  private byte[] line = new byte[256];
  private int lineLength;
  private boolean skipLine;
  private byte[] data = new byte[1024];
  private int dataLength;
  private boolean lastWasCr;

  private ResponseUsageReader(boolean eventStream, int maxEventBytes) {
    this.eventStream = eventStream;
    this.maxEventBytes = maxEventBytes;
    try {
      this.digest = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java platform has SHA-256", e);
    }
    if (!eventStream) {
      try {
        parser = JSON.createNonBlockingByteArrayParser();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      path = new PathTracker();
    }
  }

  /**
   * A reader for a response with this {@code content-type}: event stream for {@code
   * text/event-stream}, JSON for anything else.
   *
   * @param maxEventBytes longest server-sent event read; a longer one is skipped
   */
  public static ResponseUsageReader forContentType(String contentType, int maxEventBytes) {
    String type = contentType == null ? "" : contentType.toLowerCase(Locale.ROOT).trim();
    return new ResponseUsageReader(type.startsWith("text/event-stream"), maxEventBytes);
  }

  /** Reads the next chunk of the body. */
  public void accept(byte[] chunk, int offset, int length) {
    digest.update(chunk, offset, length);
    if (failed) {
      return;
    }
    if (eventStream) {
      acceptEvents(chunk, offset, length);
    } else {
      acceptJson(chunk, offset, length);
    }
  }

  /** The body ended normally: the usage it reported, if any. */
  public Optional<ReportedUsage> finish() {
    if (eventStream) {
      endLine();
      dispatchEvent();
    } else if (!failed) {
      parser.getNonBlockingInputFeeder().endOfInput();
      pump();
      if (!path.complete) {
        failed = true;
      }
    }
    return failed && !eventStream ? Optional.empty() : fields.usage();
  }

  /** Lowercase hex SHA-256 of every body byte accepted so far. Call once, at the end. */
  public String completionHash() {
    return HexFormat.of().formatHex(digest.digest());
  }

  private void acceptJson(byte[] chunk, int offset, int length) {
    ByteArrayFeeder feeder = (ByteArrayFeeder) parser.getNonBlockingInputFeeder();
    try {
      feeder.feedInput(chunk, offset, offset + length);
    } catch (IOException e) {
      failed = true;
      return;
    }
    pump();
  }

  private void pump() {
    try {
      JsonToken t;
      while ((t = parser.nextToken()) != null && t != JsonToken.NOT_AVAILABLE) {
        path.on(t, parser, fields);
        if (path.depth > MAX_DEPTH) {
          failed = true;
          return;
        }
      }
    } catch (IOException e) {
      failed = true;
    }
  }

  private void acceptEvents(byte[] chunk, int offset, int length) {
    for (int i = offset; i < offset + length; i++) {
      byte b = chunk[i];
      if (b == '\n' && lastWasCr) {
        lastWasCr = false;
        continue; // the \n of a \r\n already ended the line
      }
      lastWasCr = b == '\r';
      if (b == '\n' || b == '\r') {
        endLine();
      } else if (!skipLine) {
        if (lineLength == maxEventBytes) {
          skipLine = true; // too long to be a usage event worth holding
          continue;
        }
        if (lineLength == line.length) {
          line = Arrays.copyOf(line, Math.min(maxEventBytes, line.length * 2));
        }
        line[lineLength++] = b;
      }
    }
  }

  private void endLine() {
    if (skipLine) {
      skipLine = false;
      lineLength = 0;
      dataLength = -1; // the event lost part of its data: ignore it
      return;
    }
    if (lineLength == 0) {
      dispatchEvent();
      return;
    }
    if (startsWith(line, lineLength, "data:") && dataLength >= 0) {
      int from = lineLength > 5 && line[5] == ' ' ? 6 : 5;
      int extra = lineLength - from + (dataLength > 0 ? 1 : 0);
      if (dataLength + extra > maxEventBytes) {
        dataLength = -1;
      } else {
        if (dataLength + extra > data.length) {
          data = Arrays.copyOf(data, Math.min(maxEventBytes, Math.max(data.length * 2,
              dataLength + extra)));
        }
        if (dataLength > 0) {
          data[dataLength++] = '\n';
        }
        System.arraycopy(line, from, data, dataLength, lineLength - from);
        dataLength += lineLength - from;
      }
    }
    lineLength = 0;
  }

  private void dispatchEvent() {
    int length = dataLength;
    dataLength = 0;
    if (length <= 0 || startsWith(data, length, "[DONE]")) {
      return;
    }
    UsageFields event = new UsageFields();
    try (JsonParser p = JSON.createParser(data, 0, length)) {
      PathTracker tracker = new PathTracker();
      JsonToken t;
      while ((t = p.nextToken()) != null) {
        tracker.on(t, p, event);
        if (tracker.depth > MAX_DEPTH) {
          return;
        }
      }
      if (!tracker.complete) {
        return;
      }
    } catch (IOException e) {
      return; // not JSON: no usage in it
    }
    fields.mergeLatest(event);
  }

  private static boolean startsWith(byte[] bytes, int length, String prefix) {
    if (length < prefix.length()) {
      return false;
    }
    for (int i = 0; i < prefix.length(); i++) {
      if (bytes[i] != prefix.charAt(i)) {
        return false;
      }
    }
    return true;
  }

  /** Usage numbers found so far; -1 = not seen. */
  private static final class UsageFields {
    long promptTokens = -1;
    long completionTokens = -1;
    long inputTokens = -1;
    long outputTokens = -1;
    long cacheCreation = -1;
    long cacheRead = -1;

    void set(String name, long value) {
      switch (name) {
        case "prompt_tokens" -> promptTokens = value;
        case "completion_tokens" -> completionTokens = value;
        case "input_tokens" -> inputTokens = value;
        case "output_tokens" -> outputTokens = value;
        case "cache_creation_input_tokens" -> cacheCreation = value;
        case "cache_read_input_tokens" -> cacheRead = value;
        default -> { }
      }
    }

    void mergeLatest(UsageFields e) {
      promptTokens = e.promptTokens >= 0 ? e.promptTokens : promptTokens;
      completionTokens = e.completionTokens >= 0 ? e.completionTokens : completionTokens;
      inputTokens = e.inputTokens >= 0 ? e.inputTokens : inputTokens;
      outputTokens = e.outputTokens >= 0 ? e.outputTokens : outputTokens;
      cacheCreation = e.cacheCreation >= 0 ? e.cacheCreation : cacheCreation;
      cacheRead = e.cacheRead >= 0 ? e.cacheRead : cacheRead;
    }

    Optional<ReportedUsage> usage() {
      if (promptTokens >= 0 || completionTokens >= 0) {
        return Optional.of(new ReportedUsage(Math.max(0, promptTokens),
            Math.max(0, completionTokens)));
      }
      if (inputTokens >= 0 || outputTokens >= 0) {
        long input = Math.max(0, inputTokens) + Math.max(0, cacheCreation)
            + Math.max(0, cacheRead);
        return Optional.of(new ReportedUsage(input, Math.max(0, outputTokens)));
      }
      return Optional.empty();
    }
  }

  /**
   * Follows where the parser is, and records integer fields of a top-level {@code usage}
   * object or of {@code message.usage} (Anthropic's {@code message_start}).
   */
  private static final class PathTracker {
    private final String[] names = new String[MAX_DEPTH + 2];
    int depth;
    boolean complete;

    void on(JsonToken t, JsonParser p, UsageFields out) throws IOException {
      switch (t) {
        case START_OBJECT, START_ARRAY -> {
          depth++;
          if (depth < names.length) {
            names[depth] = t == JsonToken.START_ARRAY ? "[" : null;
          }
        }
        case END_OBJECT, END_ARRAY -> {
          depth--;
          complete = depth == 0;
        }
        case FIELD_NAME -> {
          if (depth < names.length) {
            names[depth] = p.currentName();
          }
        }
        case VALUE_NUMBER_INT -> {
          if (inUsage() && p.getNumberType() != JsonParser.NumberType.BIG_INTEGER) {
            long v = p.getLongValue();
            if (v >= 0) {
              out.set(names[depth], v);
            }
          }
        }
        default -> { }
      }
    }

    private boolean inUsage() {
      return (depth == 2 && "usage".equals(names[1]))
          || (depth == 3 && "message".equals(names[1]) && "usage".equals(names[2]));
    }
  }
}
