package io.perishable.cli.stack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EnvoyBinaryTest {

  @Test
  void locate_returnsThePinnedEnvoyRelease() throws Exception {
    Path binary = ShippedEnvoy.binary();

    Subprocess.Result version =
        Subprocess.run(List.of(binary.toString(), "--version"), Map.of(), Duration.ofSeconds(30));

    assertTrue(binary.isAbsolute(), binary::toString);
    assertEquals(0, version.exitCode(), version::output);
    assertTrue(version.output().contains("/1.40.0/"), version::output);
  }

  @Test
  void locate_envoyBinSet_returnsItWithoutInstalling(@TempDir Path dir) throws Exception {
    Path custom = dir.resolve("my-envoy");
    Files.writeString(custom, "#!/bin/sh\necho custom envoy\n");
    Files.setPosixFilePermissions(custom, PosixFilePermissions.fromString("rwxr-xr-x"));

    Path located =
        EnvoyBinary.locate(ShippedEnvoy.repoRoot(), Map.of("ENVOY_BIN", custom.toString()));

    assertEquals(custom.toRealPath(), located);
  }

  @Test
  void locate_noInstallScript_failsNamingIt(@TempDir Path notACheckout) {
    EnvoyException e = assertThrows(EnvoyException.class, () -> EnvoyBinary.locate(notACheckout));

    assertTrue(e.getMessage().contains("install-envoy.sh"), e::getMessage);
  }

  @Test
  void repoRoot_fromInsideAModule_findsTheCheckout() {
    Path root = ShippedEnvoy.repoRoot();

    assertEquals(root, EnvoyBinary.repoRootFrom(root.resolve("cli/src/main/java")));
    assertTrue(Files.isRegularFile(root.resolve("envoy/dev.yaml")));
  }

  @Test
  void repoRoot_outsideACheckout_fails(@TempDir Path elsewhere) {
    IllegalStateException e =
        assertThrows(IllegalStateException.class, () -> EnvoyBinary.repoRootFrom(elsewhere));

    assertTrue(e.getMessage().contains("envoy/dev.yaml"), e::getMessage);
  }
}
