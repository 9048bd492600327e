package io.perishable.controlplane.audit;

import io.perishable.controlplane.MutableClock;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/** Named helpers that build records, logs and exports for the audit tests. */
final class AuditFixtures {
  /** A force hook that does not fsync: for tests about content, not durability. */
  static final FileAuditLog.ForceHook NO_FSYNC = (channel, throughSeq) -> {};

  /** 2025-11-25T00:00:00Z: where every audit test's clock starts. */
  static final long START_MS = 1_764_028_800_000L;

  private AuditFixtures() {}

  /** A hand-moved clock standing at {@link #START_MS}. */
  static MutableClock startClock() {
    return new MutableClock(java.time.Instant.ofEpochMilli(START_MS));
  }

  /** A 22-character token id, like TokenIds makes, numbered for readability. */
  static String tokenId(int n) {
    return String.format("tok%019d", n);
  }

  static AuditRecord.Builder issued(int n) {
    return AuditRecord.builder(AuditEventType.ISSUED)
        .tokenId(tokenId(n)).agentId("agent-" + (n % 7)).parentTokenId(n > 1 ? tokenId(1) : null)
        .attribute("scopes", "llm:complete");
  }

  static AuditRecord.Builder denied(int n) {
    return AuditRecord.builder(AuditEventType.DENIED)
        .tokenId(tokenId(n)).agentId("agent-" + (n % 7)).endpoint("/v1/chat/completions")
        .method("POST").model("gpt-4o")
        .promptHash(AuditRecord.hashPrompt(("{\"n\":" + n + "}").getBytes(StandardCharsets.UTF_8)))
        .reasonCode("model_not_allowed").status(403).latencyUs(180L)
        .requestId("req-" + n).replicaId("authz-1");
  }

  /** Alternating issued and denied events, so records differ from one another. */
  static AuditRecord.Builder event(int n) {
    return n % 2 == 0 ? denied(n) : issued(n);
  }

  static FileAuditLogConfig config(Path dir) {
    return FileAuditLogConfig.defaults(dir);
  }

  /** Opens a log without fsync (content tests). */
  static FileAuditLog open(FileAuditLogConfig config, CheckpointKeys keys, MutableClock clock) {
    return FileAuditLog.open(config, keys, clock, NO_FSYNC);
  }

  /** Appends {@code count} events and waits for all of them. */
  static List<AuditRecord> appendEvents(AuditLog log, int from, int count) {
    List<CompletableFuture<AuditRecord>> futures = new ArrayList<>();
    for (int i = from; i < from + count; i++) {
      futures.add(log.append(event(i)));
    }
    List<AuditRecord> out = new ArrayList<>();
    for (CompletableFuture<AuditRecord> f : futures) {
      out.add(f.join());
    }
    return out;
  }

  /**
   * A closed log with {@code events} events and a checkpoint every {@code checkpointEvery}
   * records (plus the final one close writes), in one segment.
   */
  static void writeLog(Path dir, CheckpointKeys keys, int events, int checkpointEvery) {
    MutableClock clock = startClock();
    try (FileAuditLog log = open(config(dir).withCheckpoints(checkpointEvery,
        java.time.Duration.ofDays(1)), keys, clock)) {
      for (int i = 1; i <= events; i++) {
        log.append(event(i)).join(); // one batch each: checkpoints land at fixed seqs
        clock.advance(java.time.Duration.ofMillis(3));
      }
    }
  }

  static Path onlySegment(Path dir) throws IOException {
    List<Segments.Segment> segments = Segments.list(dir);
    if (segments.size() != 1) {
      throw new IllegalStateException("expected one segment, got " + segments);
    }
    return segments.get(0).path();
  }

  /** The file's lines, without their newlines (a final line without one is kept as is). */
  static List<String> lines(Path file) throws IOException {
    String text = Files.readString(file, StandardCharsets.UTF_8);
    List<String> out = new ArrayList<>(Arrays.asList(text.split("\n", -1)));
    if (out.get(out.size() - 1).isEmpty()) {
      out.remove(out.size() - 1);
    }
    return out;
  }

  /** Writes lines, each followed by a newline. */
  static void writeLines(Path file, List<String> lines) throws IOException {
    StringBuilder sb = new StringBuilder();
    for (String l : lines) {
      sb.append(l).append('\n');
    }
    Files.writeString(file, sb.toString(), StandardCharsets.UTF_8);
  }

  /** Flips the lowest bit of the first character of {@code field}'s string value. */
  static String flipBitInValue(String line, String field) {
    int at = line.indexOf("\"" + field + "\":\"");
    if (at < 0) {
      throw new IllegalArgumentException(field + " not in " + line);
    }
    int i = at + field.length() + 4;
    char[] chars = line.toCharArray();
    chars[i] ^= 1;
    return new String(chars);
  }

  /** A record's event fields and time, as someone editing an export sees them. */
  record Draft(AuditRecord.Builder builder, long timeMs) {}

  /**
   * Recomputes every hash of {@code drafts} in order from seq 1 and the genesis hash, as someone
   * who edits the log and fixes up the chain would; checkpoints keep whatever key id and
   * signature they carry.
   */
  static List<String> rechain(List<Draft> drafts) {
    ChainHasher hasher = new ChainHasher();
    ChainHash prev = ChainHash.GENESIS;
    List<String> out = new ArrayList<>();
    long seq = 1;
    for (Draft d : drafts) {
      AuditRecord.Builder b = d.builder();
      if (b.type() == AuditEventType.CHECKPOINT) {
        b.checkpointSeq(seq - 1).checkpointHash(prev);
      }
      byte[] canonical = b.build(seq, d.timeMs(), prev, ChainHash.GENESIS).canonicalBytes();
      ChainHash hash = hasher.next(prev, canonical, 0, canonical.length, -1);
      out.add(new String(b.build(seq, d.timeMs(), prev, hash).exportLine(),
          StandardCharsets.UTF_8));
      prev = hash;
      seq++;
    }
    return out;
  }

  /** Parses export lines back into drafts. */
  static List<Draft> drafts(List<String> lines) throws Exception {
    List<Draft> out = new ArrayList<>();
    CanonicalJson.Sink scratch = new CanonicalJson.Sink(512);
    for (String l : lines) {
      byte[] b = l.getBytes(StandardCharsets.UTF_8);
      AuditRecord r = CanonicalJson.parseLine(b, 0, b.length, scratch).record();
      out.add(new Draft(r.toBuilder(), r.timeMs()));
    }
    return out;
  }
}
