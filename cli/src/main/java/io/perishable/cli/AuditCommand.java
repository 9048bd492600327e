package io.perishable.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.MetadataUtils;
import io.perishable.controlplane.audit.AuditExporter;
import io.perishable.controlplane.audit.AuditLogCorruptedException;
import io.perishable.controlplane.audit.AuditVerifier;
import io.perishable.controlplane.audit.CheckpointKeys;
import io.perishable.controlplane.audit.FileAuditLog;
import io.perishable.controlplane.audit.FileAuditLogConfig;
import io.perishable.controlplane.config.AuditSettings;
import io.perishable.proto.v1.AuditEvent;
import io.perishable.proto.v1.AuditServiceGrpc;
import io.perishable.proto.v1.WatchRequest;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.bouncycastle.crypto.digests.Blake3Digest;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code perishable audit}: export a range of the audit log to JSONL, verify the log or an
 * export, and tail the live log over {@code AuditService.Watch}. Exit codes: 0 verified or done,
 * {@link ExitCodes#DAMAGED_DATA} when the log or export does not verify (the message names the
 * first bad record), {@link ExitCodes#SERVER_ERROR} when the control plane cannot be reached or
 * the log is in use, {@link ExitCodes#USAGE} for a wrong command line.
 */
@Command(name = "audit", mixinStandardHelpOptions = true,
    description = "Export, verify and tail the audit log.",
    subcommands = {AuditCommand.Export.class, AuditCommand.Verify.class,
        AuditCommand.Tail.class})
final class AuditCommand implements Runnable {
  @Spec
  CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(),
        "name a subcommand: export, verify or tail");
  }

  /** The checkpoint public keys under {@code dataDir/keys}, never creating one. */
  static List<byte[]> checkpointKeys(CommandLine cli, Path dataDir) throws IOException {
    Path keys = dataDir.resolve("keys");
    boolean any = false;
    if (Files.isDirectory(keys)) {
      try (DirectoryStream<Path> files = Files.newDirectoryStream(keys, "checkpoint-*.key")) {
        any = files.iterator().hasNext();
      }
    }
    if (!any) {
      throw new CommandLine.ParameterException(cli, "no audit checkpoint key in " + keys
          + "; is " + dataDir + " a control plane's data_dir?");
    }
    return new ArrayList<>(CheckpointKeys.open(dataDir, Clock.systemUTC()).publicKeys()
        .values());
  }

  /** {@code perishable audit export}: a seq range of the (stopped) log as JSONL. */
  @Command(name = "export", mixinStandardHelpOptions = true,
      description = "Write records FROM..TO of a stopped control plane's audit log to a JSONL "
          + "file (docs/audit-log.md, \"Export format\"), running on to the next checkpoint so "
          + "every record is covered by a signature.")
  static final class Export implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--data-dir", required = true, description = "control_plane.data_dir")
    Path dataDir;

    @Option(names = "--from", defaultValue = "1", description = "First seq (default 1).")
    long from;

    @Option(names = "--to", description = "Last seq (default: the log's head).")
    Long to;

    @Option(names = "--out", required = true, description = "The JSONL file to write.")
    Path out;

    @Override
    public Integer call() throws IOException {
      CommandLine cli = spec.commandLine();
      if (from < 1 || (to != null && to < from)) {
        throw new CommandLine.ParameterException(cli, "need 1 <= --from <= --to");
      }
      checkpointKeys(cli, dataDir);
      FileAuditLog log;
      try {
        log = FileAuditLog.open(FileAuditLogConfig.defaults(dataDir.resolve("audit")),
            CheckpointKeys.open(dataDir, Clock.systemUTC()), Clock.systemUTC());
      } catch (AuditLogCorruptedException e) {
        cli.getErr().println("perishable audit export: " + e.getMessage());
        return ExitCodes.DAMAGED_DATA;
      } catch (IllegalStateException e) {
        cli.getErr().println("perishable audit export: " + e.getMessage() + " (stop the "
            + "control plane, or follow the live log with `perishable audit tail`)");
        return ExitCodes.SERVER_ERROR;
      }
      try (log) {
        AuditExporter.Summary s = new AuditExporter(log)
            .export(from, to == null ? Long.MAX_VALUE : to, out);
        cli.getOut().println("exported " + s.records() + " record(s)" + (s.records() == 0 ? ""
            : ", seq " + s.firstSeq() + ".." + s.lastSeq()) + " to " + out);
      }
      return ExitCodes.OK;
    }
  }

  /** {@code perishable audit verify}: the log directory or an export, first bad record named. */
  @Command(name = "verify", mixinStandardHelpOptions = true,
      description = "Verify the audit log of a data_dir, or a JSONL export: canonical bytes, "
          + "seqs, the hash chain and checkpoint signatures. Exits 3 naming the first bad "
          + "record.")
  static final class Verify implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Source source;

    static final class Source {
      @Option(names = "--data-dir", description = "Verify <data_dir>/audit, with the "
          + "checkpoint keys in <data_dir>/keys.")
      Path dataDir;

      @Option(names = "--file", description = "Verify a JSONL export.")
      Path file;
    }

    @Option(names = "--keys-from", description = "For --file: a data_dir whose checkpoint "
        + "public keys to trust.")
    Path keysFrom;

    @Option(names = "--checkpoint-key", description = "For --file: a trusted checkpoint "
        + "public key, 64 hex characters (repeatable).")
    List<String> checkpointKeys = new ArrayList<>();

    @Option(names = "--max-unsigned-tail", description = "Records allowed after the last "
        + "checkpoint (default: 0 for an export, control_plane.audit.checkpoint_every_records' "
        + "default for a live log, whose newest records are not yet signed).")
    Long maxUnsignedTail;

    @Option(names = "--expect-through", description = "Fail unless the chain reaches this seq "
        + "(catches a cleanly cut tail).")
    Long expectThrough;

    @Override
    public Integer call() throws IOException {
      CommandLine cli = spec.commandLine();
      List<byte[]> keys = new ArrayList<>();
      if (source.dataDir != null) {
        keys.addAll(checkpointKeys(cli, source.dataDir));
      } else {
        if (keysFrom != null) {
          keys.addAll(checkpointKeys(cli, keysFrom));
        }
        for (String hex : checkpointKeys) {
          try {
            byte[] raw = HexFormat.of().parseHex(hex);
            if (raw.length != 32) {
              throw new IllegalArgumentException("not 32 bytes");
            }
            keys.add(raw);
          } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(cli, "--checkpoint-key must be 64 hex "
                + "characters (a raw Ed25519 public key)");
          }
        }
      }
      AuditVerifier verifier;
      if (keys.isEmpty()) {
        cli.getErr().println("perishable audit verify: no checkpoint key given (--keys-from, "
            + "--checkpoint-key): checking the chain only, which cannot tell the real log from "
            + "a self-consistent rewrite");
        verifier = AuditVerifier.chainOnly();
      } else {
        long tail = maxUnsignedTail != null ? maxUnsignedTail
            : source.dataDir != null ? AuditSettings.DEFAULT_CHECKPOINT_EVERY_RECORDS : 0;
        verifier = AuditVerifier.trusting(keys).withMaxUnsignedTail(tail);
      }
      if (expectThrough != null) {
        verifier = verifier.expectingRecordsThrough(expectThrough);
      }
      AuditVerifier.Report report = source.dataDir != null
          ? verifier.verifyLog(source.dataDir.resolve("audit"))
          : verifier.verifyExport(source.file);
      if (report.ok()) {
        cli.getOut().println(report);
        return ExitCodes.OK;
      }
      cli.getErr().println("perishable audit verify: " + report);
      return ExitCodes.DAMAGED_DATA;
    }
  }

  /** {@code perishable audit tail}: the live log over AuditService.Watch. */
  @Command(name = "tail", mixinStandardHelpOptions = true,
      description = "Print audit records as the control plane makes them durable, checking "
          + "the hash chain as they arrive.")
  static final class Tail implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Spec
    CommandSpec spec;

    @Mixin
    ControlPlaneOptions controlPlane;

    @Option(names = "--from", defaultValue = "0",
        description = "First seq (default: only records written from now on; 1 = all).")
    long from;

    @Option(names = "--count", description = "Stop after this many records.")
    Long count;

    @Option(names = "--json", description = "Print each record as its JSONL export line.")
    boolean json;

    @Override
    public Integer call() throws IOException {
      CommandLine cli = spec.commandLine();
      if (from < 0) {
        throw new CommandLine.ParameterException(cli, "--from must not be negative");
      }
      String secret = controlPlane.issuerSecret(cli);
      ManagedChannel channel = controlPlane.channel();
      PrintWriter out = cli.getOut();
      long seen = 0;
      long last = 0;
      byte[] prev = null;
      try {
        Metadata headers = new Metadata();
        headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER),
            "Bearer " + secret);
        Iterator<AuditEvent> events = AuditServiceGrpc.newBlockingStub(channel)
            .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers))
            .watch(WatchRequest.newBuilder().setFromSeq(from).build());
        while ((count == null || seen < count) && events.hasNext()) {
          AuditEvent e = events.next();
          byte[] canonical = e.getCanonicalJson().toByteArray();
          String problem = check(e, canonical, prev, last);
          if (problem != null) {
            cli.getErr().println("perishable audit tail: seq " + e.getSeq() + ": " + problem);
            return ExitCodes.DAMAGED_DATA;
          }
          out.println(json ? exportLine(e, canonical) : human(e.getSeq(), canonical));
          out.flush();
          prev = e.getHash().toByteArray();
          last = e.getSeq();
          seen++;
        }
        return ExitCodes.OK;
      } catch (StatusRuntimeException e) {
        cli.getErr().println("perishable audit tail: " + e.getStatus().getCode() + ": "
            + e.getStatus().getDescription() + (last > 0 ? " (resume with --from "
                + (last + 1) + ")" : ""));
        return ExitCodes.SERVER_ERROR;
      } finally {
        channel.shutdownNow();
      }
    }

    /** Null if the event continues the chain; else why not. */
    static String check(AuditEvent e, byte[] canonical, byte[] prev, long last) {
      if (last > 0 && e.getSeq() != last + 1) {
        return "seq gap: expected " + (last + 1) + " got " + e.getSeq();
      }
      byte[] prevHash = e.getPrevHash().toByteArray();
      if (prev != null && !Arrays.equals(prev, prevHash)) {
        return "prev_hash mismatch: the chain is broken";
      }
      Blake3Digest digest = new Blake3Digest(256);
      digest.update(prevHash, 0, prevHash.length);
      digest.update(canonical, 0, canonical.length);
      byte[] hash = new byte[32];
      digest.doFinal(hash, 0);
      return Arrays.equals(hash, e.getHash().toByteArray()) ? null : "hash mismatch";
    }

    /** The JSONL export line (docs/audit-log.md), without the newline. */
    static String exportLine(AuditEvent e, byte[] canonical) {
      String c = new String(canonical, StandardCharsets.UTF_8);
      return c.substring(0, c.length() - 1) + ",\"prev_hash\":\""
          + HexFormat.of().formatHex(e.getPrevHash().toByteArray()) + "\",\"hash\":\""
          + HexFormat.of().formatHex(e.getHash().toByteArray()) + "\"}";
    }

    /** {@code seq time type field=value ...}. */
    static String human(long seq, byte[] canonical) throws IOException {
      JsonNode r = JSON.readTree(canonical);
      StringBuilder line = new StringBuilder().append(seq).append(' ')
          .append(Instant.ofEpochMilli(r.path("time_ms").asLong())).append(' ')
          .append(r.path("type").asText());
      Iterator<Map.Entry<String, JsonNode>> fields = r.fields();
      while (fields.hasNext()) {
        Map.Entry<String, JsonNode> f = fields.next();
        String name = f.getKey();
        if (name.equals("seq") || name.equals("time_ms") || name.equals("type")
            || name.equals("signature")) {
          continue;
        }
        line.append(' ').append(name).append('=').append(f.getValue().isTextual()
            ? f.getValue().asText() : f.getValue().toString());
      }
      return line.toString();
    }
  }
}
