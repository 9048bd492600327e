package io.perishable.cli.stack;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.perishable.tls.TestPki;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The production example's commented-out mutual-TLS blocks (to authz-service and to the
 * control plane's access-log service), uncommented exactly as shipped, with real certificate
 * files in place of {@code /etc/envoy/tls/}: Envoy must accept the result.
 */
class ProductionExampleTlsTest {
  private static final Pattern BLOCK_START = Pattern.compile("^(\\s*)# transport_socket:$");
  private static final Pattern CLUSTER = Pattern.compile("^    - name: (\\S+)$");

  /**
   * Uncomments every {@code # transport_socket:} block, adding the name of the cluster each
   * belongs to to {@code clustersSeen}.
   */
  static String uncommentTlsBlocks(String yaml, List<String> clustersSeen) {
    List<String> out = new ArrayList<>();
    String indent = null;
    String lastCluster = "";
    for (String line : yaml.split("\n", -1)) {
      Matcher cluster = CLUSTER.matcher(line);
      if (cluster.matches()) {
        lastCluster = cluster.group(1);
      }
      Matcher start = BLOCK_START.matcher(line);
      if (start.matches()) {
        indent = start.group(1);
        clustersSeen.add(lastCluster);
        out.add(indent + "transport_socket:");
        continue;
      }
      if (indent != null && line.startsWith(indent + "#   ")) {
        out.add(indent + line.substring(indent.length() + 2));
        continue;
      }
      indent = null;
      out.add(line);
    }
    return String.join("\n", out);
  }

  @Test
  void commentedMutualTlsBlocks_acceptedByEnvoy(@TempDir Path dir) throws Exception {
    TestPki mesh = TestPki.newCa("mesh-ca");
    mesh.issue(dir, "envoy", "envoy", Duration.ofMinutes(1));
    mesh.writeCa(dir.resolve("mesh-ca.crt"));
    String shipped = Files.readString(
        ShippedEnvoy.repoRoot().resolve("envoy/production.example.yaml"));
    List<String> clusters = new ArrayList<>();

    String enabled = uncommentTlsBlocks(shipped, clusters)
        .replace("/etc/envoy/tls/", dir.toAbsolutePath() + "/");

    assertEquals(List.of("perishable_authz", "perishable_control_plane"), clusters);
    assertTrue(enabled.contains("sni: control-plane.perishable.svc"), enabled);
    Path config = Files.writeString(dir.resolve("production-mtls.yaml"), enabled);
    assertDoesNotThrow(() -> EnvoyValidator.validate(ShippedEnvoy.binary(), config));
  }
}
