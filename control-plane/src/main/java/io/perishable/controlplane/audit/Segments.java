package io.perishable.controlplane.audit;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Names of the embedded log's segment files: {@code audit-<first seq, 20 digits>.jsonl}. Each
 * segment holds export lines; concatenated in name order they are one export of the chain.
 */
final class Segments {
  private static final Pattern NAME = Pattern.compile("audit-(\\d{20})\\.jsonl");

  /** A segment file and the seq its first record must have. */
  record Segment(long firstSeq, Path path) {}

  private Segments() {}

  static String name(long firstSeq) {
    return String.format("audit-%020d.jsonl", firstSeq);
  }

  /** The segments in {@code dir}, in chain order; other files are ignored. */
  static List<Segment> list(Path dir) throws IOException {
    List<Segment> out = new ArrayList<>();
    try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "audit-*.jsonl")) {
      for (Path f : files) {
        Matcher m = NAME.matcher(f.getFileName().toString());
        if (m.matches()) {
          out.add(new Segment(Long.parseLong(m.group(1)), f));
        }
      }
    }
    out.sort(Comparator.comparingLong(Segment::firstSeq));
    return out;
  }
}
