package io.perishable.cli.config;

import com.fasterxml.jackson.databind.JsonNode;
import io.perishable.controlplane.config.DurationText;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A YAML node that knows its path in the file, so every error names the field: {@code
 * "control_plane.max_ttl: expected a duration like 30s, 15m or 1h, got 'soon'"}.
 */
final class ConfigNode {
  private final JsonNode node;
  private final String path;

  ConfigNode(JsonNode node, String path) {
    this.node = node;
    this.path = path;
  }

  String path() {
    return path;
  }

  boolean isMissing() {
    return node == null || node.isMissingNode() || node.isNull();
  }

  ConfigNode child(String name) {
    JsonNode child = node == null ? null : node.get(name);
    return new ConfigNode(child, path.isEmpty() ? name : path + "." + name);
  }

  /** Fails on any key not in {@code allowed}: a typo must not silently become a default. */
  ConfigNode allowOnly(Set<String> allowed) {
    if (isMissing()) {
      return this;
    }
    if (!node.isObject()) {
      throw error("expected a mapping");
    }
    Iterator<String> names = node.fieldNames();
    while (names.hasNext()) {
      String name = names.next();
      if (!allowed.contains(name)) {
        throw new IllegalArgumentException((path.isEmpty() ? name : path + "." + name)
            + ": unknown field; expected one of " + new java.util.TreeSet<>(allowed));
      }
    }
    return this;
  }

  Map<String, ConfigNode> entries() {
    Map<String, ConfigNode> out = new LinkedHashMap<>();
    if (isMissing()) {
      return out;
    }
    if (!node.isObject()) {
      throw error("expected a mapping");
    }
    node.fieldNames().forEachRemaining(name -> out.put(name, child(name)));
    return out;
  }

  List<ConfigNode> elements() {
    List<ConfigNode> out = new ArrayList<>();
    if (isMissing()) {
      return out;
    }
    if (!node.isArray()) {
      throw error("expected a list");
    }
    for (int i = 0; i < node.size(); i++) {
      out.add(new ConfigNode(node.get(i), path + "[" + i + "]"));
    }
    return out;
  }

  String string(String defaultValue) {
    if (isMissing()) {
      return defaultValue;
    }
    if (!node.isValueNode() || node.isBoolean()) {
      throw error("expected a string");
    }
    return node.asText();
  }

  String requiredString() {
    if (isMissing()) {
      throw error("is required");
    }
    return string(null);
  }

  Optional<String> optionalString() {
    return isMissing() ? Optional.empty() : Optional.of(string(null));
  }

  List<String> strings() {
    if (!isMissing() && node.isTextual()) {
      return List.of(node.asText());
    }
    List<String> out = new ArrayList<>();
    for (ConfigNode e : elements()) {
      out.add(e.requiredString());
    }
    return out;
  }

  int integer(int defaultValue, int min, int max) {
    long value = longValue(defaultValue, min, max);
    return (int) value;
  }

  long longValue(long defaultValue, long min, long max) {
    if (isMissing()) {
      return defaultValue;
    }
    if (!node.isIntegralNumber() || !node.canConvertToLong()) {
      throw error("expected a whole number, got '" + node.asText() + "'");
    }
    long value = node.asLong();
    if (value < min || value > max) {
      throw error("must lie between " + min + " and " + max + ", got " + value);
    }
    return value;
  }

  boolean bool(boolean defaultValue) {
    if (isMissing()) {
      return defaultValue;
    }
    if (!node.isBoolean()) {
      throw error("expected true or false, got '" + node.asText() + "'");
    }
    return node.asBoolean();
  }

  Duration duration(Duration defaultValue) {
    if (isMissing()) {
      return defaultValue;
    }
    try {
      return DurationText.parse(string(null));
    } catch (IllegalArgumentException e) {
      throw error(e.getMessage());
    }
  }

  Optional<Duration> optionalDuration() {
    return isMissing() ? Optional.empty() : Optional.of(duration(null));
  }

  IllegalArgumentException error(String problem) {
    return new IllegalArgumentException(path + ": " + problem);
  }
}
