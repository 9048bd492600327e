package io.perishable.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.Timestamp;
import io.perishable.proto.v1.Grant;
import io.perishable.proto.v1.TokenInfo;
import io.perishable.proto.v1.TokenState;
import java.time.Instant;
import java.util.Locale;

/** How the CLI renders token-API answers: JSON for --json, one-line text otherwise. */
final class TokenJson {
  private TokenJson() {}

  static String instant(Timestamp t) {
    return Instant.ofEpochSecond(t.getSeconds(), t.getNanos()).toString();
  }

  /** live, revoked, expired (or unknown for an ancestor the index does not hold). */
  static String state(TokenState state) {
    return state == TokenState.TOKEN_STATE_UNSPECIFIED || state == TokenState.UNRECOGNIZED
        ? "unknown"
        : state.name().substring("TOKEN_STATE_".length()).toLowerCase(Locale.ROOT);
  }

  static void grant(ObjectNode out, Grant g) {
    g.getScopesList().forEach(out.putArray("scopes")::add);
    g.getModelsList().forEach(out.putArray("models")::add);
    out.put("max_tokens_per_request", Integer.toUnsignedLong(g.getMaxTokensPerRequest()));
    out.put("upstream", g.getUpstream());
    if (g.getBudgetTokens() != 0) {
      out.put("budget_tokens", g.getBudgetTokens());
    }
  }

  static ObjectNode token(ObjectNode out, TokenInfo t) {
    out.put("token_id", t.getTokenId()).put("state", state(t.getState()));
    if (t.getState() == TokenState.TOKEN_STATE_UNSPECIFIED) {
      return out;
    }
    out.put("agent_id", t.getAgentId())
        .put("issued_at", instant(t.getIssuedAt()))
        .put("expires_at", instant(t.getExpiresAt()))
        .put("minted_by", t.getMintedBy())
        .put("key_id", t.getKeyId());
    t.getAncestorIdsList().forEach(out.putArray("ancestor_ids")::add);
    grant(out.putObject("grant"), t.getGrant());
    if (t.hasRevocation()) {
      out.putObject("revocation")
          .put("rule_id", t.getRevocation().getRuleId())
          .put("reason", t.getRevocation().getReason())
          .put("revoked_at", instant(t.getRevocation().getRevokedAt()));
    }
    return out;
  }

  /** {@code <id>  <agent>  <state>  expires <time>  scopes [..]} (plus the revocation). */
  static String line(TokenInfo t) {
    if (t.getState() == TokenState.TOKEN_STATE_UNSPECIFIED) {
      return t.getTokenId() + "  (not in the index)";
    }
    String line = t.getTokenId() + "  " + t.getAgentId() + "  " + state(t.getState())
        + "  expires " + instant(t.getExpiresAt()) + "  scopes " + t.getGrant().getScopesList();
    if (t.hasRevocation()) {
      line += "  revoked: " + t.getRevocation().getReason() + " (" + t.getRevocation()
          .getRuleId() + ")";
    }
    return line;
  }
}
