package io.perishable.cli.stack;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class EnvoyValidatorTest {

  static List<Path> shippedConfigs() {
    return ShippedEnvoy.configs();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("shippedConfigs")
  void validate_shippedConfig_isAcceptedByEnvoy(Path config) throws Exception {
    Path binary = ShippedEnvoy.binary();

    assertDoesNotThrow(() -> EnvoyValidator.validate(binary, config));
  }

  @Test
  void shippedConfigs_includeDevAndProductionExample() {
    List<String> names =
        shippedConfigs().stream().map(path -> path.getFileName().toString()).toList();

    assertTrue(names.contains("dev.yaml"), names::toString);
    assertTrue(names.contains("production.example.yaml"), names::toString);
  }

  @Test
  void validate_unknownField_failsWithEnvoysReason(@TempDir Path dir) throws Exception {
    Path config = dir.resolve("bad.yaml");
    Files.writeString(
        config,
        "static_resources:\n"
            + "  clusters:\n"
            + "    - name: c\n"
            + "      not_an_envoy_field: 1\n");

    EnvoyException e =
        assertThrows(
            EnvoyException.class, () -> EnvoyValidator.validate(ShippedEnvoy.binary(), config));

    assertTrue(e.getMessage().contains("not_an_envoy_field"), e::getMessage);
  }
}
