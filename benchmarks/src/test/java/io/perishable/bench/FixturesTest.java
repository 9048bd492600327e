package io.perishable.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.perishable.cli.stack.EnvoyBinary;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The request bodies and the "Envoy alone" config the benchmark derives. */
class FixturesTest {

  @ParameterizedTest
  @ValueSource(ints = {2048, 1024 * 1024})
  void chatBody_hasExactlyTheAskedSizeAndIsAChatRequest(int bytes) throws Exception {
    byte[] body = ChatBodies.ofSize(bytes);

    assertEquals(bytes, body.length);
    JsonNode json = new ObjectMapper().readTree(body);
    assertEquals(ChatBodies.MODEL, json.path("model").asText());
    assertTrue(json.path("messages").size() >= 2);
  }

  @Test
  void streamingChatBody_hasTheSameSize_andAsksForAStreamWithUsage() throws Exception {
    byte[] body = ChatBodies.streamingOfSize(2048);

    assertEquals(2048, body.length);
    JsonNode json = new ObjectMapper().readTree(body);
    assertEquals(ChatBodies.MODEL, json.path("model").asText());
    assertTrue(json.path("stream").asBoolean());
    assertTrue(json.at("/stream_options/include_usage").asBoolean());
  }

  @Test
  void envoyAlone_isTheShippedConfigWithoutExtAuthz(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("alone.yaml");
    BenchStack.envoyAloneConfig(EnvoyBinary.repoRoot(), 10001, 9902, 7401, 7480).write(file);

    JsonNode config = new YAMLMapper().readTree(Files.readString(file));
    List<String> filters = new ArrayList<>();
    config.at("/static_resources/listeners/0/filter_chains/0/filters/0/typed_config/http_filters")
        .forEach(f -> filters.add(f.path("name").asText()));
    assertEquals(List.of("envoy.filters.http.buffer", "envoy.filters.http.router"), filters);
    assertEquals(10001, config.at(
        "/static_resources/listeners/0/address/socket_address/port_value").asInt());
    assertFalse(Files.readString(file).contains("ext_authz.v3"));
  }
}
