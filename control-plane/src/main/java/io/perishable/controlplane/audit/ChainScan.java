package io.perishable.controlplane.audit;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Feeds the lines of one or more streams through a {@link ChainVerifier}, using several cores:
 * lines are gathered into chunks, each chunk's lines are checked on their own in parallel
 * (parsing and BLAKE3 dominate the cost), then linked in order on the calling thread. The
 * result does not depend on the number of threads: linking is sequential, and a line's own
 * checks do not depend on its neighbours.
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

  private static final int MAX_LINES = 8192;
  private static final int MIN_LINES_PER_TASK = 512;

  private final ChainVerifier chain;
  private final ExecutorService pool;
  private final ChainVerifier.LineChecker[] checkers;
  private final ChainVerifier.LineCheck[] checks = new ChainVerifier.LineCheck[MAX_LINES];
  private final int[] starts = new int[MAX_LINES];
  private final int[] lengths = new int[MAX_LINES];
  private final long[] lineNos = new long[MAX_LINES];
  private final long[] offsets = new long[MAX_LINES];
  private byte[] data = new byte[8 << 20];
  private int dataLength;
  private int count;
  private long lastLineNo;

  /** Uses up to {@code threads} threads (1 = only the caller's). */
  ChainScan(ChainVerifier chain, int threads) {
    this.chain = chain;
    this.checkers = new ChainVerifier.LineChecker[Math.max(1, threads)];
    for (int i = 0; i < checkers.length; i++) {
      checkers[i] = chain.newLineChecker();
    }
    for (int i = 0; i < MAX_LINES; i++) {
      checks[i] = new ChainVerifier.LineCheck();
    }
    this.pool = checkers.length == 1 ? null : Executors.newFixedThreadPool(checkers.length - 1,
        r -> {
          Thread t = new Thread(r, "audit-verify");
          t.setDaemon(true);
          return t;
        });
  }

  /** One thread per available processor. */
  static ChainScan parallel(ChainVerifier chain) {
    return new ChainScan(chain, Runtime.getRuntime().availableProcessors());
  }

  /** The number of the last line of the last stream scanned. */
  long lastLineNo() {
    return lastLineNo;
  }

  /** Scans one stream to its end; returns its first bad line, or null if all are good. */
  Bad scan(InputStream in) throws IOException {
    Bad[] bad = {null};
    lastLineNo = 0;
    LineScanner.scan(in, (buf, off, len, terminated, lineNo, offset) -> {
      lastLineNo = lineNo;
      if (!terminated || count == MAX_LINES || dataLength + len > data.length) {
        bad[0] = flush();
        if (bad[0] != null) {
          return false;
        }
      }
      if (!terminated) {
        bad[0] = new Bad(lineNo, offset,
            chain.seqToBlame(CanonicalJson.peekSeq(buf, off, len)), "truncated record");
        return false;
      }
      if (len > data.length) {
        data = new byte[len];
      }
      System.arraycopy(buf, off, data, dataLength, len);
      starts[count] = dataLength;
      lengths[count] = len;
      lineNos[count] = lineNo;
      offsets[count] = offset;
      dataLength += len;
      count++;
      return true;
    });
    return bad[0] != null ? bad[0] : flush();
  }

  /** Checks the gathered lines (in parallel), then links them in order. */
  private Bad flush() throws IOException {
    if (count == 0) {
      return null;
    }
    int tasks = Math.min(checkers.length, Math.max(1, count / MIN_LINES_PER_TASK));
    int per = (count + tasks - 1) / tasks;
    List<Future<?>> running = new ArrayList<>();
    for (int t = 1; t < tasks; t++) {
      int from = t * per;
      int to = Math.min(count, from + per);
      ChainVerifier.LineChecker checker = checkers[t];
      running.add(pool.submit(() -> checkRange(checker, from, to)));
    }
    checkRange(checkers[0], 0, Math.min(count, per));
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
    int n = count;
    count = 0;
    dataLength = 0;
    for (int i = 0; i < n; i++) {
      String why = chain.link(checks[i]);
      if (why != null) {
        return new Bad(lineNos[i], offsets[i], chain.seqToBlame(checks[i].seq), why);
      }
    }
    return null;
  }

  private void checkRange(ChainVerifier.LineChecker checker, int from, int to) {
    for (int i = from; i < to; i++) {
      checker.check(data, starts[i], lengths[i], checks[i]);
    }
  }

  @Override
  public void close() {
    if (pool != null) {
      pool.shutdownNow();
    }
    Arrays.fill(checks, null);
  }
}
