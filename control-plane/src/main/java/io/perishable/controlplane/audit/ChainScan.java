package io.perishable.controlplane.audit;

import java.io.IOException;
import java.io.InputStream;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Feeds the lines of one or more streams through a {@link ChainVerifier}, using several cores:
 * the stream is read in large blocks (the next one on a reader thread while the current one is
 * checked), each block is cut at line ends into one part per thread,
 * each part's lines are found and checked on their own in parallel (finding lines, parsing and
 * BLAKE3 are the whole cost), then linked in order on the calling thread. The result does not
 * depend on the number of threads: linking is sequential, and a line's own checks do not depend
 * on its neighbours.
 */
final class ChainScan implements AutoCloseable {
  /**
   * The first bad line of a stream.
   *
   * @param lineNo its 1-based line number
   * @param offset the byte offset where it starts
   * @param seq the seq that belongs there
   * @param reason why it is bad
   */
  record Bad(long lineNo, long offset, long seq, String reason) {}

  /** Bytes read at once (grown for a longer line). */
  private static final int BLOCK_BYTES = 4 << 20;
  /** A block smaller than this per thread is not worth the hand-off. */
  private static final int MIN_BYTES_PER_PART = 128 << 10;

  private final ChainVerifier chain;
  private final ExecutorService pool;
  private final Part[] parts;
  /** Reads the next block while the current one is checked. */
  private final ExecutorService reader;
  private byte[] data = new byte[BLOCK_BYTES];
  /** The block being read while {@link #data} is checked. */
  private byte[] spare = new byte[BLOCK_BYTES];
  private long lastLineNo;
  private Map<Long, Long> seekPoints;
  private long seekEvery;

  /** One thread's share of a block: where its lines start, and what each says of itself. */
  private static final class Part {
    final ChainVerifier.LineChecker checker;
    ChainVerifier.LineCheck[] checks = new ChainVerifier.LineCheck[0];
    int[] starts = new int[0];
    int count;

    Part(ChainVerifier.LineChecker checker) {
      this.checker = checker;
    }

    /** Checks the lines of {@code data[from, to)}, which ends just after a newline. */
    void check(byte[] data, int from, int to) {
      count = 0;
      int p = from;
      while (p < to) {
        int nl = indexOfNewline(data, p, to);
        if (count == checks.length) {
          grow();
        }
        starts[count] = p;
        checker.check(data, p, nl - p, checks[count]);
        count++;
        p = nl + 1;
      }
    }

    private void grow() {
      int size = Math.max(1024, checks.length * 2);
      starts = Arrays.copyOf(starts, size);
      int old = checks.length;
      checks = Arrays.copyOf(checks, size);
      for (int i = old; i < size; i++) {
        checks[i] = new ChainVerifier.LineCheck();
      }
    }
  }

  private static final VarHandle LONGS =
      MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
  private static final long NEWLINES = 0x0a0a0a0a0a0a0a0aL;
  private static final long ONES = 0x0101010101010101L;
  private static final long HIGHS = 0x8080808080808080L;

  /**
   * The index of the first {@code '\n'} in {@code b[from, to)}, or {@code to} if there is none.
   * Eight bytes at a time: finding line ends byte by byte was a seventh of verification's CPU.
   */
  static int indexOfNewline(byte[] b, int from, int to) {
    int i = from;
    for (; i + 8 <= to; i += 8) {
      long w = (long) LONGS.get(b, i) ^ NEWLINES; // a zero byte where b has a newline
      long zeros = (w - ONES) & ~w & HIGHS; // the lowest flagged byte is the first zero
      if (zeros != 0) {
        return i + (Long.numberOfTrailingZeros(zeros) >>> 3);
      }
    }
    for (; i < to; i++) {
      if (b[i] == '\n') {
        return i;
      }
    }
    return to;
  }

  /** Uses up to {@code threads} threads (1 = only the caller's). */
  ChainScan(ChainVerifier chain, int threads) {
    this.chain = chain;
    this.parts = new Part[Math.max(1, threads)];
    for (int i = 0; i < parts.length; i++) {
      parts[i] = new Part(chain.newLineChecker());
    }
    this.pool = parts.length == 1 ? null : Executors.newFixedThreadPool(parts.length - 1,
        r -> {
          Thread t = new Thread(r, "audit-verify");
          t.setDaemon(true);
          return t;
        });
    this.reader = Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "audit-verify-read");
      t.setDaemon(true);
      return t;
    });
  }

  /** One thread per available processor. */
  static ChainScan parallel(ChainVerifier chain) {
    return new ChainScan(chain, Runtime.getRuntime().availableProcessors());
  }

  /**
   * Puts, for every good checkpoint and every good line whose seq is a multiple of {@code
   * every}, its seq and the byte offset where its line starts in its stream into {@code into}.
   */
  void recordSeekPoints(Map<Long, Long> into, long every) {
    this.seekPoints = into;
    this.seekEvery = every;
  }

  /** The number of the last line of the last stream scanned. */
  long lastLineNo() {
    return lastLineNo;
  }

  /**
   * Scans one stream to its end; returns its first bad line, or null if all are good. While a
   * block is checked, the next one is read into the spare buffer on the reader thread.
   */
  Bad scan(InputStream in) throws IOException {
    lastLineNo = 0;
    long base = 0; // the stream offset of data[0]
    int filled = in.readNBytes(data, 0, data.length);
    while (true) {
      boolean eof = filled < data.length;
      int end = filled;
      while (end > 0 && data[end - 1] != '\n') {
        end--;
      }
      if (end == 0 && !eof) {
        data = Arrays.copyOf(data, data.length * 2); // one line longer than the block
        filled += in.readNBytes(data, filled, data.length - filled);
        continue;
      }
      int rest = filled - end;
      Future<Integer> next = null;
      if (!eof) {
        if (spare.length < data.length) {
          spare = new byte[data.length];
        }
        System.arraycopy(data, end, spare, 0, rest);
        byte[] into = spare;
        next = reader.submit(() -> in.readNBytes(into, rest, into.length - rest));
      }
      Bad bad = null;
      boolean checked = false;
      try {
        bad = end == 0 ? null : checkAndLink(end, base);
        checked = true;
      } finally {
        if (next != null && (!checked || bad != null)) {
          awaitQuietly(next); // the caller closes the stream once this returns
        }
      }
      if (bad != null) {
        return bad;
      }
      if (eof) {
        if (rest == 0) {
          return null;
        }
        lastLineNo++;
        return new Bad(lastLineNo, base + end,
            chain.seqToBlame(CanonicalJson.peekSeq(data, end, rest)), "truncated record");
      }
      int n = await(next);
      byte[] checkedBlock = data;
      data = spare;
      spare = checkedBlock;
      base += end;
      filled = rest + n;
    }
  }

  private static int await(Future<Integer> read) throws IOException {
    try {
      return read.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while reading", e);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof IOException io) {
        throw io;
      }
      throw new IllegalStateException("reading the audit log failed", e.getCause());
    }
  }

  private static void awaitQuietly(Future<Integer> read) {
    try {
      read.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (ExecutionException e) {
      // the scan already has its answer
    }
  }

  /** Checks the lines of {@code data[0, end)} (in parallel), then links them in order. */
  private Bad checkAndLink(int end, long base) throws IOException {
    int tasks = Math.min(parts.length, Math.max(1, end / MIN_BYTES_PER_PART));
    int[] bounds = new int[tasks + 1];
    bounds[tasks] = end;
    for (int t = 1; t < tasks; t++) {
      int p = Math.max(bounds[t - 1], (int) ((long) end * t / tasks));
      while (p < end && p > 0 && data[p - 1] != '\n') {
        p++;
      }
      bounds[t] = p;
    }
    byte[] block = data;
    List<Future<?>> running = new ArrayList<>();
    for (int t = 1; t < tasks; t++) {
      Part part = parts[t];
      int from = bounds[t];
      int to = bounds[t + 1];
      running.add(pool.submit(() -> part.check(block, from, to)));
    }
    parts[0].check(block, bounds[0], bounds[1]);
    for (Future<?> f : running) {
      try {
        f.get();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException("interrupted while verifying", e);
      } catch (ExecutionException e) {
        throw new IllegalStateException("audit verification failed", e.getCause());
      }
    }
    for (int t = 0; t < tasks; t++) {
      Part part = parts[t];
      for (int i = 0; i < part.count; i++) {
        lastLineNo++;
        ChainVerifier.LineCheck check = part.checks[i];
        String why = chain.link(check);
        if (why != null) {
          return new Bad(lastLineNo, base + part.starts[i], chain.seqToBlame(check.seq), why);
        }
        if (seekPoints != null && (check.checkpoint || check.seq % seekEvery == 0)) {
          seekPoints.put(check.seq, base + part.starts[i]);
        }
      }
    }
    return null;
  }

  @Override
  public void close() {
    if (pool != null) {
      pool.shutdownNow();
    }
    reader.shutdownNow();
  }
}
