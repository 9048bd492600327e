package io.perishable.authz.decision;

import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * One log line per decision: denials at INFO, allows at FINE. Ids, never tokens or keys; the
 * path without its query string (queries can carry anything).
 */
public final class DecisionLog implements DecisionListener {
  private static final Logger LOG = Logger.getLogger("io.perishable.authz.decisions");

  @Override
  public void decided(AuthzRequest request, Decision decision, long elapsedNanos) {
    Level level = decision instanceof Decision.Deny ? Level.INFO : Level.FINE;
    if (!LOG.isLoggable(level)) {
      return;
    }
    String method = request == null ? "-" : request.method();
    String path = request == null ? "-" : request.path().split("\\?", 2)[0];
    String requestId = request == null ? "-" : request.requestId();
    String line;
    if (decision instanceof Decision.Allow a) {
      line = "decision=allow token_id=" + a.claims().tokenId() + " agent="
          + a.claims().agentId() + " scope=" + a.scope() + " upstream=" + a.upstream().name();
    } else {
      Decision.Deny d = (Decision.Deny) decision;
      line = "decision=deny reason=" + d.reason().code() + " status=" + d.reason().httpStatus()
          + (d.claims() == null ? "" : " token_id=" + d.claims().tokenId() + " agent="
              + d.claims().agentId());
    }
    LOG.log(level, line + " method=" + method + " path=" + sanitize(path) + " request_id="
        + sanitize(requestId) + " micros=" + elapsedNanos / 1000);
  }

  /** Keeps attacker-chosen text from forging log lines. */
  private static String sanitize(String s) {
    StringBuilder out = new StringBuilder(Math.min(s.length(), 256));
    for (int i = 0; i < s.length() && i < 256; i++) {
      char c = s.charAt(i);
      out.append(c < 0x21 || c > 0x7e ? '?' : c);
    }
    return out.toString();
  }
}
