package io.perishable.cli.stack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EnvoyConfigTest {
  private static final String LISTENER = "/static_resources/listeners/0";
  private static final String AUTHZ_CLUSTER = "/static_resources/clusters/0";
  private static final String FIRST_ENDPOINT_SOCKET =
      "/load_assignment/endpoints/0/lb_endpoints/0/endpoint/address/socket_address";

  @Test
  void rewrite_writesNewPortsAndEndpoint_andLeavesEverythingElseIntact(@TempDir Path dir)
      throws Exception {
    EnvoyConfig shipped = EnvoyConfig.load(ShippedEnvoy.devConfig());
    Path written = dir.resolve("nested/envoy.yaml");

    shipped
        .withAdminPort(19901)
        .withListenerPort("llm_ingress", 20000)
        .withClusterEndpoint("perishable_authz", "127.0.0.2", 17401)
        .write(written);
    EnvoyConfig reloaded = EnvoyConfig.load(written);

    assertEquals(19901, reloaded.adminPort());
    assertEquals(20000, reloaded.listenerPort("llm_ingress"));
    JsonNode authz = reloaded.tree().at(AUTHZ_CLUSTER);
    assertEquals("perishable_authz", authz.path("name").asText());
    JsonNode endpoint = authz.at(FIRST_ENDPOINT_SOCKET);
    assertEquals("127.0.0.2", endpoint.path("address").asText());
    assertEquals(17401, endpoint.path("port_value").asInt());
    assertEquals(shipped.tree(), withShippedValuesRestored(reloaded.tree()));
  }

  @Test
  void rewrite_leavesTheOriginalConfigUnchanged() throws Exception {
    EnvoyConfig shipped = EnvoyConfig.load(ShippedEnvoy.devConfig());
    JsonNode before = shipped.tree();

    shipped.withAdminPort(1).withListenerPort("llm_ingress", 2).withClusterEndpoint(
        "upstream_openai", "localhost", 3);

    assertEquals(before, shipped.tree());
    assertEquals(9901, shipped.adminPort());
    assertEquals(10000, shipped.listenerPort("llm_ingress"));
  }

  @Test
  void withListenerPort_unknownListener_namesTheListenersThereAre() throws Exception {
    EnvoyConfig shipped = EnvoyConfig.load(ShippedEnvoy.devConfig());

    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> shipped.withListenerPort("ingress", 20000));

    assertTrue(e.getMessage().contains("'ingress'"), e::getMessage);
    assertTrue(e.getMessage().contains("llm_ingress"), e::getMessage);
  }

  @Test
  void withClusterEndpoint_unknownCluster_isRejected() throws Exception {
    EnvoyConfig shipped = EnvoyConfig.load(ShippedEnvoy.devConfig());

    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> shipped.withClusterEndpoint("upstream_mistral", "127.0.0.1", 7480));

    assertTrue(e.getMessage().contains("upstream_mistral"), e::getMessage);
  }

  @Test
  void withAdminPort_outsidePortRange_isRejected() throws Exception {
    EnvoyConfig shipped = EnvoyConfig.load(ShippedEnvoy.devConfig());

    assertThrows(IllegalArgumentException.class, () -> shipped.withAdminPort(0));
    assertThrows(IllegalArgumentException.class, () -> shipped.withAdminPort(65536));
  }

  /** Puts the shipped dev.yaml values back into the fields the rewrite test changed. */
  private static JsonNode withShippedValuesRestored(JsonNode rewritten) {
    ObjectNode tree = rewritten.deepCopy();
    ((ObjectNode) tree.at("/admin/address/socket_address")).put("port_value", 9901);
    ((ObjectNode) tree.at(LISTENER + "/address/socket_address")).put("port_value", 10000);
    ((ObjectNode) tree.at(AUTHZ_CLUSTER + FIRST_ENDPOINT_SOCKET))
        .put("address", "127.0.0.1")
        .put("port_value", 7401);
    return tree;
  }
}
