package io.perishable.controlplane.issue;

import io.perishable.controlplane.config.ControlPlaneConfig;
import io.perishable.controlplane.config.DurationText;
import io.perishable.proto.v1.Grant;
import io.perishable.proto.v1.IssueRequest;
import io.perishable.proto.v1.TokenClaims;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * Decides what an Issue request gets: validates every field, applies defaults and enforces the
 * configured limits. Asking for more than allowed is an error that names the limit, never a
 * silent narrowing. Pure: no clock, no keys, no gRPC.
 *
 * <p>A delegated request ({@link #decideChild}) is held to its parent token as well: the
 * child's scopes, models and max tokens must lie within the parent's, its upstream must be the
 * parent's, it must expire no later than the parent, and it may be at most
 * {@code max_delegation_depth} levels below a root token. Asking for more than the parent
 * holds is refused with every excess named, unless the caller asked to be narrowed to the
 * intersection ({@code narrow_to_parent}). Checking that the parent is genuine, unexpired and
 * unrevoked is {@link ParentTokenVerifier}'s job, done before this.
 */
public final class IssuancePolicy {
  static final Pattern AGENT_ID = Pattern.compile("[A-Za-z0-9._:@/-]{1,128}");
  static final Pattern LABEL_KEY = Pattern.compile("[a-z0-9][a-z0-9_.-]{0,63}");
  static final int MAX_LABELS = 16;
  static final int MAX_LABEL_VALUE = 64;
  static final int MAX_MODELS = 64;
  static final int MAX_MODEL_CHARS = 128;

  private final ControlPlaneConfig config;

  public IssuancePolicy(ControlPlaneConfig config) {
    this.config = config;
  }

  /**
   * What a valid request is granted, and for how long.
   *
   * @param ancestorIds the new token's ancestors, root first; empty for a root token
   */
  public record Decision(String agentId, Grant grant, Duration ttl, List<String> ancestorIds) {
    public Decision {
      ancestorIds = List.copyOf(ancestorIds);
    }
  }

  /** Validates {@code request}; throws {@link IssueRejectedException} saying what is wrong. */
  public Decision decide(IssueRequest request) {
    if (request.getNarrowToParent()) {
      throw IssueRejectedException.invalid("narrow_to_parent needs parent_token");
    }
    String agentId = agentId(request);

    List<String> scopes = scopes(request.getScopesList());
    List<String> models = models(request.getModelsList());
    String upstream = upstream(request.getUpstream());
    Duration ttl = ttl(request, scopes);
    Map<String, String> labels = labels(request.getLabelsMap());

    Grant grant = Grant.newBuilder()
        .addAllScopes(scopes)
        .addAllModels(models)
        .setMaxTokensPerRequest(request.getMaxTokensPerRequest())
        .setUpstream(upstream)
        .putAllLabels(labels)
        .build();
    return new Decision(agentId, grant, ttl, List.of());
  }

  /**
   * Decides a delegated request against its (already verified, unexpired, unrevoked) parent.
   * Within it, an empty scopes / models / upstream and a zero max_tokens_per_request mean "the
   * parent's", and an unset ttl means the default cut to the parent's remaining lifetime.
   *
   * @param nowMs the issue time the child will carry
   */
  public Decision decideChild(IssueRequest request, TokenClaims parent, long nowMs) {
    String agentId = agentId(request);
    int depth = parent.getAncestorIdsCount() + 1;
    if (depth > config.maxDelegationDepth()) {
      throw IssueRejectedException.denied(config.maxDelegationDepth() == 0
          ? "delegation is disabled (control_plane.max_delegation_depth is 0)"
          : "the child token would be " + depth + " levels below its root; "
              + "control_plane.max_delegation_depth is " + config.maxDelegationDepth());
    }
    boolean narrow = request.getNarrowToParent();
    List<String> refused = new ArrayList<>();

    List<String> scopes = request.getScopesList().isEmpty()
        ? new ArrayList<>(parent.getScopesList())
        : scopes(request.getScopesList());
    List<String> extraScopes = excess(scopes, parent.getScopesList());
    if (!extraScopes.isEmpty()) {
      if (narrow) {
        scopes.removeAll(extraScopes);
        if (scopes.isEmpty()) {
          throw IssueRejectedException.denied("scopes: the parent token holds none of "
              + extraScopes + "; it holds " + parent.getScopesList());
        }
      } else {
        refused.add("scopes " + extraScopes + " (the parent holds " + parent.getScopesList()
            + ")");
      }
    }

    List<String> models = models(request.getModelsList());
    if (parent.getModelsCount() > 0) {
      if (models.isEmpty()) {
        models = new ArrayList<>(parent.getModelsList());
      }
      List<String> extraModels = excess(models, parent.getModelsList());
      if (!extraModels.isEmpty()) {
        if (narrow) {
          models.removeAll(extraModels);
          if (models.isEmpty()) {
            throw IssueRejectedException.denied("models: the parent token may use none of "
                + extraModels + "; it may use " + parent.getModelsList());
          }
        } else {
          refused.add("models " + extraModels + " (the parent may use only "
              + parent.getModelsList() + ")");
        }
      }
    }

    long parentMax = Integer.toUnsignedLong(parent.getMaxTokensPerRequest());
    long maxTokens = Integer.toUnsignedLong(request.getMaxTokensPerRequest());
    if (parentMax > 0) {
      if (maxTokens == 0) {
        maxTokens = parentMax;
      } else if (maxTokens > parentMax) {
        if (narrow) {
          maxTokens = parentMax;
        } else {
          refused.add("max_tokens_per_request " + maxTokens + " (the parent's ceiling is "
              + parentMax + ")");
        }
      }
    }

    String upstream = request.getUpstream().isEmpty()
        ? parent.getUpstream() : upstream(request.getUpstream());
    if (!upstream.equals(parent.getUpstream())) {
      // No intersection to narrow to: a token names exactly one upstream.
      throw IssueRejectedException.denied("upstream '" + upstream + "' is not the parent "
          + "token's upstream '" + parent.getUpstream() + "'; a child uses its parent's");
    }

    Duration parentLeft = Duration.ofMillis(parent.getExpiresAtMs() - nowMs);
    Duration ttl;
    if (!request.hasTtl()) {
      // The default is not a request: cutting it to the parent's lifetime refuses nothing.
      ttl = min(ttl(request, scopes), parentLeft);
    } else {
      ttl = ttl(request, scopes);
      if (ttl.compareTo(parentLeft) > 0) {
        if (narrow) {
          ttl = parentLeft;
        } else {
          refused.add("ttl " + DurationText.format(ttl) + " (the parent expires in "
              + DurationText.format(parentLeft) + ")");
        }
      }
    }

    if (!refused.isEmpty()) {
      throw IssueRejectedException.denied("the request asks for more than the parent token "
          + "holds: " + String.join("; ", refused) + ". Ask for less, or set narrow_to_parent "
          + "to receive the intersection");
    }
    Grant grant = Grant.newBuilder()
        .addAllScopes(scopes)
        .addAllModels(models)
        .setMaxTokensPerRequest((int) maxTokens)
        .setUpstream(upstream)
        .putAllLabels(labels(request.getLabelsMap()))
        .build();
    List<String> ancestors = new ArrayList<>(parent.getAncestorIdsList());
    ancestors.add(parent.getTokenId());
    return new Decision(agentId, grant, ttl, ancestors);
  }

  private static String agentId(IssueRequest request) {
    String agentId = request.getAgentId();
    if (!AGENT_ID.matcher(agentId).matches()) {
      throw IssueRejectedException.invalid(agentId.isEmpty()
          ? "agent_id is required"
          : "agent_id must be 1-128 characters of [A-Za-z0-9._:@/-]");
    }
    return agentId;
  }

  /** The elements of {@code asked} that {@code held} lacks, in asked order. */
  private static List<String> excess(List<String> asked, List<String> held) {
    List<String> extra = new ArrayList<>(asked);
    extra.removeAll(held);
    return extra;
  }

  private static Duration min(Duration a, Duration b) {
    return a.compareTo(b) <= 0 ? a : b;
  }

  private List<String> scopes(List<String> requested) {
    if (requested.isEmpty()) {
      throw IssueRejectedException.invalid(
          "scopes: at least one scope is required; known scopes: " + known());
    }
    Set<String> unique = new LinkedHashSet<>();
    for (String scope : requested) {
      if (!config.scopes().containsKey(scope)) {
        throw IssueRejectedException.invalid(
            "scopes: unknown scope '" + printable(scope) + "'; known scopes: " + known());
      }
      unique.add(scope);
    }
    return new ArrayList<>(unique);
  }

  private List<String> models(List<String> requested) {
    if (requested.size() > MAX_MODELS) {
      throw IssueRejectedException.invalid("models: at most " + MAX_MODELS + " models");
    }
    Set<String> unique = new LinkedHashSet<>();
    for (String model : requested) {
      if (model.isEmpty() || model.length() > MAX_MODEL_CHARS || !isPrintableAscii(model)) {
        throw IssueRejectedException.invalid("models: each model must be 1-" + MAX_MODEL_CHARS
            + " printable ASCII characters");
      }
      unique.add(model);
    }
    return new ArrayList<>(unique);
  }

  private String upstream(String requested) {
    if (requested.isEmpty()) {
      return config.defaultUpstream();
    }
    if (!config.upstreams().contains(requested)) {
      throw IssueRejectedException.invalid("upstream: unknown upstream '" + printable(requested)
          + "'; known upstreams: " + new TreeSet<>(config.upstreams()));
    }
    return requested;
  }

  private Duration ttl(IssueRequest request, List<String> scopes) {
    if (!request.hasTtl()) {
      // The default must still respect a tighter per-scope limit.
      Duration ttl = config.defaultTtl();
      for (String scope : scopes) {
        Optional<Duration> limit = config.scopes().get(scope);
        if (limit.isPresent() && limit.get().compareTo(ttl) < 0) {
          ttl = limit.get();
        }
      }
      return ttl;
    }
    var proto = request.getTtl();
    if (proto.getNanos() < 0 || proto.getNanos() > 999_999_999) {
      throw IssueRejectedException.invalid("ttl: nanos must be 0-999999999");
    }
    Duration ttl = Duration.ofSeconds(proto.getSeconds(), proto.getNanos());
    if (ttl.compareTo(ControlPlaneConfig.MIN_TTL) < 0) {
      throw IssueRejectedException.invalid("ttl " + DurationText.format(ttl)
          + " is below the minimum " + DurationText.format(ControlPlaneConfig.MIN_TTL));
    }
    if (ttl.compareTo(config.maxTtl()) > 0) {
      throw IssueRejectedException.invalid("ttl " + DurationText.format(ttl)
          + " exceeds max_ttl " + DurationText.format(config.maxTtl()));
    }
    for (String scope : scopes) {
      Optional<Duration> limit = config.scopes().get(scope);
      if (limit.isPresent() && ttl.compareTo(limit.get()) > 0) {
        throw IssueRejectedException.invalid("ttl " + DurationText.format(ttl)
            + " exceeds max_ttl " + DurationText.format(limit.get()) + " for scope " + scope);
      }
    }
    return ttl;
  }

  private static Map<String, String> labels(Map<String, String> requested) {
    if (requested.size() > MAX_LABELS) {
      throw IssueRejectedException.invalid("labels: at most " + MAX_LABELS + " labels");
    }
    Map<String, String> sorted = new TreeMap<>();
    requested.forEach((key, value) -> {
      if (!LABEL_KEY.matcher(key).matches()) {
        throw IssueRejectedException.invalid(
            "labels: key must be 1-64 characters of [a-z0-9_.-] starting with a letter or digit");
      }
      if (value.length() > MAX_LABEL_VALUE || !isPrintableAscii(value)) {
        throw IssueRejectedException.invalid("labels: value of '" + key + "' must be at most "
            + MAX_LABEL_VALUE + " printable ASCII characters");
      }
      sorted.put(key, value);
    });
    return sorted;
  }

  private String known() {
    return String.join(", ", new TreeSet<>(config.scopes().keySet()));
  }

  private static boolean isPrintableAscii(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < 0x20 || c > 0x7e) {
        return false;
      }
    }
    return true;
  }

  /** Echoes caller input in an error only when it is short and printable. */
  private static String printable(String s) {
    return s.length() <= 64 && isPrintableAscii(s) ? s : "(unprintable or too long)";
  }
}
