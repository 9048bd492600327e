package io.perishable.controlplane.tokens;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Consumer;
import java.util.function.Predicate;
import javax.annotation.concurrent.GuardedBy;

/**
 * The token index in this process's memory, rebuilt on start from the audit log's {@code
 * issued} records (io.perishable.controlplane.journal.StateReplay).
 *
 * <p>One lock guards everything: the control plane's token API is not a hot path (Issue signs,
 * Revoke waits for replicas), and a lock keeps the four views consistent.
 */
public final class InMemoryTokenIndex implements TokenIndex {
  private static final Comparator<TokenIndex.Cursor> ORDER =
      Comparator.comparingLong(TokenIndex.Cursor::issuedAtMs)
          .thenComparing(TokenIndex.Cursor::tokenId);
  private static final Comparator<IndexedToken> BY_EXPIRY =
      Comparator.comparingLong((IndexedToken t) -> t.claims().getExpiresAtMs())
          .thenComparing(IndexedToken::tokenId);

  @GuardedBy("this")
  private final Map<String, IndexedToken> byId = new HashMap<>();

  @GuardedBy("this")
  private final NavigableMap<TokenIndex.Cursor, IndexedToken> byIssue = new TreeMap<>(ORDER);

  /** Tokens {@link #takeExpired} has not returned yet, soonest expiry first. */
  @GuardedBy("this")
  private final TreeSet<IndexedToken> notTakenByExpiry = new TreeSet<>(BY_EXPIRY);

  /** Parent id to its direct children's ids, in insertion (= issue) order. */
  @GuardedBy("this")
  private final Map<String, Set<String>> children = new HashMap<>();

  @Override
  public synchronized void add(IndexedToken token) {
    if (byId.putIfAbsent(token.tokenId(), token) != null) {
      throw new IllegalStateException("token id " + token.tokenId() + " indexed twice");
    }
    byIssue.put(cursorOf(token), token);
    notTakenByExpiry.add(token);
    List<String> ancestors = token.claims().getAncestorIdsList();
    if (!ancestors.isEmpty()) {
      children.computeIfAbsent(ancestors.get(ancestors.size() - 1), k -> new LinkedHashSet<>())
          .add(token.tokenId());
    }
  }

  @Override
  public synchronized Optional<IndexedToken> get(String tokenId) {
    return Optional.ofNullable(byId.get(tokenId));
  }

  @Override
  public synchronized List<IndexedToken> descendants(String tokenId) {
    List<IndexedToken> out = new ArrayList<>();
    Deque<String> queue = new ArrayDeque<>();
    queue.add(tokenId);
    while (!queue.isEmpty()) {
      for (String child : children.getOrDefault(queue.poll(), Set.of())) {
        IndexedToken token = byId.get(child);
        if (token != null) {
          out.add(token);
          queue.add(child);
        }
      }
    }
    return out;
  }

  @Override
  public void forEach(Consumer<IndexedToken> action) {
    List<IndexedToken> all;
    synchronized (this) {
      all = new ArrayList<>(byId.values());
    }
    all.forEach(action);
  }

  @Override
  public synchronized Page page(Optional<String> agentId, Optional<Cursor> cursor, int limit,
      Predicate<IndexedToken> filter) {
    if (limit < 1) {
      throw new IllegalArgumentException("limit must be at least 1");
    }
    NavigableMap<Cursor, IndexedToken> rest =
        cursor.isPresent() ? byIssue.tailMap(cursor.get(), false) : byIssue;
    List<IndexedToken> out = new ArrayList<>();
    Iterator<IndexedToken> it = rest.values().iterator();
    while (it.hasNext()) {
      IndexedToken token = it.next();
      if (agentId.isPresent() && !agentId.get().equals(token.claims().getAgentId())) {
        continue;
      }
      if (!filter.test(token)) {
        continue;
      }
      if (out.size() == limit) {
        // There is at least one more: the page ends at the last token it holds.
        return new Page(out, Optional.of(cursorOf(out.get(out.size() - 1))));
      }
      out.add(token);
    }
    return new Page(out, Optional.empty());
  }

  @Override
  public synchronized List<IndexedToken> takeExpired(long nowMs) {
    List<IndexedToken> out = new ArrayList<>();
    while (!notTakenByExpiry.isEmpty()
        && notTakenByExpiry.first().claims().getExpiresAtMs() <= nowMs) {
      out.add(notTakenByExpiry.pollFirst());
    }
    return out;
  }

  @Override
  public synchronized int forgetExpiredBefore(long expiredBeforeMs) {
    int forgotten = 0;
    Iterator<IndexedToken> it = byId.values().iterator();
    while (it.hasNext()) {
      IndexedToken token = it.next();
      if (token.claims().getExpiresAtMs() < expiredBeforeMs) {
        it.remove();
        byIssue.remove(cursorOf(token));
        notTakenByExpiry.remove(token);
        children.remove(token.tokenId());
        forgotten++;
      }
    }
    return forgotten;
  }

  @Override
  public synchronized int size() {
    return byId.size();
  }

  private static Cursor cursorOf(IndexedToken token) {
    return new Cursor(token.claims().getIssuedAtMs(), token.tokenId());
  }
}
