package io.perishable.cli.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import io.perishable.controlplane.config.DurationText;
import java.lang.reflect.RecordComponent;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.TreeMap;

/**
 * Renders the configuration a service would run with — every default filled in — as YAML or
 * JSON, for {@code perishable config}. Works on the config records generically, so a new field
 * shows up without touching this class. Anything whose name says secret, token, key material or
 * hash is masked; the file never holds provider keys (only where to read them), and this output
 * never shows issuer secret digests either.
 */
public final class EffectiveConfig {
  private static final String MASK = "(masked)";

  private EffectiveConfig() {}

  /** {@code sections} in order, e.g. {"control_plane": cpConfig, "authz": authzConfig}. */
  public static String render(Map<String, Object> sections, boolean json) {
    Map<String, Object> tree = new LinkedHashMap<>();
    sections.forEach((name, value) -> tree.put(name, toTree(value, name)));
    ObjectMapper mapper = json ? new ObjectMapper()
        : new ObjectMapper(new YAMLFactory().disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
            .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES));
    try {
      return json ? mapper.writerWithDefaultPrettyPrinter().writeValueAsString(tree)
          : mapper.writeValueAsString(tree);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot render configuration", e);
    }
  }

  static Object toTree(Object value, String name) {
    if (value == null) {
      return null;
    }
    if (isSecret(name) && !(value instanceof Optional<?> o && o.isEmpty())) {
      return MASK;
    }
    if (value instanceof Optional<?> optional) {
      return optional.map(v -> toTree(v, name)).orElse(null);
    }
    if (value instanceof OptionalLong optional) {
      return optional.isPresent() ? optional.getAsLong() : null;
    }
    if (value instanceof Duration d) {
      return DurationText.format(d);
    }
    if (value instanceof Enum<?>) {
      return value.toString().toLowerCase(Locale.ROOT);
    }
    if (value instanceof Path || value instanceof java.net.URI) {
      return value.toString();
    }
    if (value instanceof byte[]) {
      return MASK;
    }
    if (value instanceof Map<?, ?> map) {
      Map<String, Object> out = new TreeMap<>();
      map.forEach((k, v) -> out.put(String.valueOf(k), toTree(v, String.valueOf(k))));
      return out;
    }
    if (value instanceof Collection<?> items) {
      List<Object> out = new ArrayList<>();
      for (Object item : items) {
        out.add(toTree(item, name));
      }
      return out;
    }
    if (value.getClass().isRecord()) {
      Map<String, Object> out = new LinkedHashMap<>();
      for (RecordComponent component : value.getClass().getRecordComponents()) {
        String field = snake(component.getName());
        try {
          out.put(field, toTree(component.getAccessor().invoke(value), field));
        } catch (ReflectiveOperationException e) {
          throw new IllegalStateException("cannot read " + field, e);
        }
      }
      return out;
    }
    if (value instanceof Number || value instanceof Boolean || value instanceof String) {
      return value;
    }
    return value.toString();
  }

  private static boolean isSecret(String name) {
    String n = name.toLowerCase(Locale.ROOT);
    return n.contains("secret") || n.contains("sha256") || n.contains("password")
        || n.equals("api_key") || n.equals("token") || n.contains("private");
  }

  static String snake(String camel) {
    return camel.replaceAll("([a-z0-9])([A-Z])", "$1_$2").toLowerCase(Locale.ROOT);
  }
}
