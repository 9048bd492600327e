package io.perishable.controlplane.tokens;

import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * Every token this control plane has minted (and not yet forgotten), searchable by id, agent
 * and lineage. Implementations are thread-safe.
 *
 * <p>The interface is deliberately narrow so that an index rebuilt from the audit log, or one
 * kept in PostgreSQL when the control plane runs on several nodes (DESIGN.md "Scale-out"),
 * can replace {@link InMemoryTokenIndex} without touching its callers.
 */
public interface TokenIndex {
  /** Records a newly minted token. Adding the same token id twice is a bug and throws. */
  void add(IndexedToken token);

  /** The token with this id, if known. */
  Optional<IndexedToken> get(String tokenId);

  /**
   * Every known token whose ancestor_ids contain {@code tokenId}, breadth first (children,
   * then grandchildren, ...), each level oldest first.
   */
  List<IndexedToken> descendants(String tokenId);

  /** Calls {@code action} for every known token (in no particular order). */
  void forEach(Consumer<IndexedToken> action);

  /**
   * One page of tokens in issue order (issued_at, then token id), starting after
   * {@code cursor} (empty = from the oldest), keeping only those of {@code agentId} (empty =
   * every agent) that pass {@code filter}.
   *
   * @param limit at most this many tokens; at least 1
   */
  Page page(Optional<String> agentId, Optional<Cursor> cursor, int limit,
      Predicate<IndexedToken> filter);

  /**
   * The tokens whose expiry is at or before {@code nowMs} that no earlier call returned, soonest
   * expiry first; each token is returned once (it stays indexed). The index keeps its tokens
   * ordered by expiry for this, so a call costs the tokens it returns, not the index's size. For
   * the one component that records expiries (io.perishable.controlplane.journal.ExpiryWatcher).
   */
  List<IndexedToken> takeExpired(long nowMs);

  /** Forgets tokens that expired before {@code expiredBeforeMs}; returns how many. */
  int forgetExpiredBefore(long expiredBeforeMs);

  /** How many tokens are indexed. */
  int size();

  /** Where a page ended: the issue time and id of its last token. */
  record Cursor(long issuedAtMs, String tokenId) {}

  /**
   * A page of tokens.
   *
   * @param next where the next page starts; empty when this was the last one
   */
  record Page(List<IndexedToken> tokens, Optional<Cursor> next) {}
}
