package io.perishable.cli.stack;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * An Envoy bootstrap (static config) loaded as a YAML tree, with the few rewrites needed to run
 * a shipped config somewhere else: other admin and listener ports, other cluster endpoints.
 *
 * <p>Immutable: every {@code with…} returns a new config and leaves this one as it was.
 * Nothing but the named fields changes; comments in the source file are not kept.
 *
 * <pre>{@code
 * EnvoyConfig.load(repoRoot.resolve("envoy/dev.yaml"))
 *     .withAdminPort(adminPort)
 *     .withListenerPort("llm_ingress", listenerPort)
 *     .withClusterEndpoint("perishable_authz", "127.0.0.1", authzPort)
 *     .write(tempDir.resolve("envoy.yaml"));
 * }</pre>
 */
public final class EnvoyConfig {
  private static final YAMLMapper YAML =
      YAMLMapper.builder()
          .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
          // Every string stays quoted, so values such as "%LOCAL_REPLY_BODY%", "1s" or
          // "AUTO" are never reinterpreted by a YAML reader.
          .disable(YAMLGenerator.Feature.MINIMIZE_QUOTES)
          // Long strings (CEL expressions, JSON bodies) stay on one line, as in the source.
          .disable(YAMLGenerator.Feature.SPLIT_LINES)
          .build();

  private final ObjectNode root;
  private final String origin;

  private EnvoyConfig(ObjectNode root, String origin) {
    this.root = root;
    this.origin = origin;
  }

  /**
   * Reads a bootstrap file.
   *
   * @throws IOException if it cannot be read or is not a YAML mapping
   */
  public static EnvoyConfig load(Path file) throws IOException {
    JsonNode tree = YAML.readTree(file.toFile());
    if (tree == null || !tree.isObject()) {
      throw new IOException(file + " is not a YAML mapping (an Envoy bootstrap)");
    }
    return new EnvoyConfig((ObjectNode) tree, file.toString());
  }

  /** The admin API's port ({@code admin.address.socket_address.port_value}). */
  public int adminPort() {
    return root.at("/admin/address/socket_address/port_value").asInt();
  }

  /** Returns a copy whose admin API listens on {@code port} (the address is unchanged). */
  public EnvoyConfig withAdminPort(int port) {
    requirePort("admin port", port);
    ObjectNode copy = root.deepCopy();
    ObjectNode address = copy.withObjectProperty("admin").withObjectProperty("address");
    socketAddress(address).put("port_value", port);
    return new EnvoyConfig(copy, origin);
  }

  /** The port of the static listener named {@code listenerName}. */
  public int listenerPort(String listenerName) {
    return find(root, "listeners", listenerName)
        .at("/address/socket_address/port_value")
        .asInt();
  }

  /**
   * Returns a copy whose static listener {@code listenerName} listens on {@code port} (the
   * address is unchanged).
   *
   * @throws IllegalArgumentException if there is no such listener
   */
  public EnvoyConfig withListenerPort(String listenerName, int port) {
    requirePort("port for listener " + listenerName, port);
    ObjectNode copy = root.deepCopy();
    ObjectNode listener = find(copy, "listeners", listenerName);
    socketAddress(listener.withObjectProperty("address")).put("port_value", port);
    return new EnvoyConfig(copy, origin);
  }

  /**
   * Returns a copy whose static listener {@code listenerName} binds to {@code host} (the port
   * is unchanged): the local stack pins the production example to loopback this way.
   *
   * @throws IllegalArgumentException if there is no such listener
   */
  public EnvoyConfig withListenerAddress(String listenerName, String host) {
    if (host == null || host.isBlank()) {
      throw new IllegalArgumentException("host for listener " + listenerName + " must not be blank");
    }
    ObjectNode copy = root.deepCopy();
    ObjectNode listener = find(copy, "listeners", listenerName);
    socketAddress(listener.withObjectProperty("address")).put("address", host);
    return new EnvoyConfig(copy, origin);
  }

  /**
   * Returns a copy whose static cluster {@code clusterName} has exactly one endpoint, {@code
   * host:port} (its other settings — protocol, timeouts, TLS — are unchanged).
   *
   * @throws IllegalArgumentException if there is no such cluster
   */
  public EnvoyConfig withClusterEndpoint(String clusterName, String host, int port) {
    requirePort("port for cluster " + clusterName, port);
    if (host == null || host.isBlank()) {
      throw new IllegalArgumentException("host for cluster " + clusterName + " must not be blank");
    }
    ObjectNode copy = root.deepCopy();
    ObjectNode cluster = find(copy, "clusters", clusterName);
    ObjectNode assignment = cluster.withObjectProperty("load_assignment");
    assignment.put("cluster_name", clusterName);
    ArrayNode endpoints = assignment.putArray("endpoints");
    ObjectNode socket =
        endpoints
            .addObject()
            .putArray("lb_endpoints")
            .addObject()
            .putObject("endpoint")
            .putObject("address")
            .putObject("socket_address");
    socket.put("address", host);
    socket.put("port_value", port);
    return new EnvoyConfig(copy, origin);
  }

  /**
   * Returns a copy without the HTTP filter {@code filterName} in every HTTP connection manager
   * of every static listener; the other filters keep their order. The benchmarks derive "Envoy
   * alone" from the shipped config this way ({@code envoy.filters.http.ext_authz}).
   *
   * @throws IllegalArgumentException if no listener has such a filter
   */
  public EnvoyConfig withoutHttpFilter(String filterName) {
    ObjectNode copy = root.deepCopy();
    int removed = 0;
    for (JsonNode listener : copy.path("static_resources").path("listeners")) {
      for (JsonNode chain : listener.path("filter_chains")) {
        for (JsonNode filter : chain.path("filters")) {
          JsonNode httpFilters = filter.path("typed_config").path("http_filters");
          if (!httpFilters.isArray()) {
            continue;
          }
          ArrayNode filters = (ArrayNode) httpFilters;
          for (int i = filters.size() - 1; i >= 0; i--) {
            if (filters.get(i).path("name").asText().equals(filterName)) {
              filters.remove(i);
              removed++;
            }
          }
        }
      }
    }
    if (removed == 0) {
      throw new IllegalArgumentException("no HTTP filter named '" + filterName + "' in " + origin);
    }
    return new EnvoyConfig(copy, origin);
  }

  /**
   * Returns a copy whose static cluster {@code clusterName} speaks mutual TLS: Envoy presents
   * {@code certificateChain}/{@code privateKey}, verifies the server against {@code trustedCa}
   * and requires {@code serverName} among its subject alternative names (also sent as SNI).
   * HTTP/2 is negotiated by ALPN.
   */
  public EnvoyConfig withClusterTls(String clusterName, Path certificateChain, Path privateKey,
      Path trustedCa, String serverName) {
    ObjectNode copy = root.deepCopy();
    ObjectNode cluster = find(copy, "clusters", clusterName);
    ObjectNode socket = cluster.putObject("transport_socket");
    socket.put("name", "envoy.transport_sockets.tls");
    ObjectNode context = socket.putObject("typed_config");
    context.put("@type",
        "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext");
    context.put("sni", serverName);
    ObjectNode common = context.putObject("common_tls_context");
    common.putArray("alpn_protocols").add("h2");
    ObjectNode certificate = common.putArray("tls_certificates").addObject();
    certificate.putObject("certificate_chain").put("filename", certificateChain.toString());
    certificate.putObject("private_key").put("filename", privateKey.toString());
    ObjectNode validation = common.putObject("validation_context");
    validation.putObject("trusted_ca").put("filename", trustedCa.toString());
    ObjectNode san = validation.putArray("match_typed_subject_alt_names").addObject();
    san.put("san_type", "DNS");
    san.putObject("matcher").put("exact", serverName);
    return new EnvoyConfig(copy, origin);
  }

  /** Writes the config as YAML, creating parent directories; overwrites {@code file}. */
  public void write(Path file) throws IOException {
    Path parent = file.toAbsolutePath().getParent();
    if (parent != null) {
      Files.createDirectories(parent);
    }
    String header = "# Generated by io.perishable.cli.stack.EnvoyConfig from " + origin + "\n";
    Files.writeString(file, header + YAML.writeValueAsString(root), StandardCharsets.UTF_8);
  }

  /** The whole tree, as a copy (for inspection). */
  JsonNode tree() {
    return root.deepCopy();
  }

  private static ObjectNode socketAddress(ObjectNode address) {
    return address.withObjectProperty("socket_address");
  }

  private static ObjectNode find(ObjectNode root, String kind, String name) {
    JsonNode items = root.path("static_resources").path(kind);
    List<String> names = new ArrayList<>();
    for (JsonNode item : items) {
      String itemName = item.path("name").asText();
      if (itemName.equals(name) && item.isObject()) {
        return (ObjectNode) item;
      }
      names.add(itemName);
    }
    String singular = kind.substring(0, kind.length() - 1);
    throw new IllegalArgumentException(
        "no static " + singular + " named '" + name + "' (" + kind + ": " + names + ")");
  }

  private static void requirePort(String what, int port) {
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException(what + " must be in 1..65535, was " + port);
    }
  }
}
