package io.perishable.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.perishable.cli.PerishableCommand;
import io.perishable.cli.config.ConfigFile;
import io.perishable.cli.stack.EnvoyBinary;
import io.perishable.cli.stack.EnvoyConfig;
import io.perishable.cli.stack.EnvoyValidator;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every Kubernetes artefact in deploy/ is checked by a tool: each layout is rendered by
 * kustomize; Kubernetes kinds are validated by kubeconform ({@code -strict}) against the
 * Kubernetes 1.37 schemas shipped in PyPI's kubernetes-validate (tools/install-kube-schemas.sh);
 * Istio, Envoy Gateway and Gateway API kinds are decoded strictly into those projects' Go types,
 * the latter two also validated against the CRD schemas Envoy Gateway's module embeds
 * (tools/crd-check); the Envoy pieces are run through {@code envoy --mode validate}.
 */
class KubernetesManifestsIT {
  private static final Path ROOT = EnvoyBinary.repoRoot();
  private static final YAMLMapper YAML = new YAMLMapper();
  private static final String KUBERNETES_VERSION = "1.37.0";
  /** The kinds crd-check validates; kubeconform has no schema for them. */
  private static final String CRD_KINDS = String.join(",", "AuthorizationPolicy",
      "ServiceEntry", "Gateway", "VirtualService", "DestinationRule", "EnvoyFilter",
      "SecurityPolicy", "Backend", "BackendTrafficPolicy", "ClientTrafficPolicy",
      "HTTPRouteFilter", "HTTPRoute", "GatewayClass", "EnvoyExtensionPolicy");
  private static final Path GATEWAY_ENVOY =
      ROOT.resolve("deploy/kubernetes/egress-gateway/envoy.yaml");
  private static final String EXT_AUTHZ = "envoy.filters.http.ext_authz";
  private static final String EXT_PROC = "envoy.filters.http.ext_proc";
  private static final String HTTP_FILTERS =
      "/static_resources/listeners/0/filter_chains/0/filters/0/typed_config/http_filters";
  /** Istio's outbound cluster for the Service authz:7401 (outbound|port|subset|FQDN). */
  private static final String ISTIO_AUTHZ_CLUSTER =
      "outbound|7401||authz.perishable.svc.cluster.local";
  private static final String GATEWAY_ENVOY_HEADER = "# Generated from "
      + "envoy/production.example.yaml by KubernetesManifestsIT (its comments explain every\n"
      + "# setting): the same bootstrap with the perishable_authz cluster pointed at the\n"
      + "# authz-service container in the same pod, 127.0.0.1:7401. Regenerate with\n"
      + "#   ./mvnw -pl integration-tests -am verify -Dtest=KubernetesManifestsIT "
      + "-Dperishable.regenerate=true\n";

  private static String kustomize;
  private static String kubeconform;
  private static String schemaLocation;
  private static String crdCheck;

  @BeforeAll
  static void install() throws Exception {
    // The installers print the tool's path on stdout, and progress on stderr.
    kustomize = installed("tools/install-go-tool.sh", "kustomize");
    kubeconform = installed("tools/install-go-tool.sh", "kubeconform");
    schemaLocation = installed("tools/install-kube-schemas.sh");
    Path target = ROOT.resolve("integration-tests/target");
    Files.createDirectories(target);
    crdCheck = target.resolve("crd-check").toString();
    Result built = run(ROOT.resolve("tools/crd-check"), "go", "build", "-o", crdCheck, ".");
    assertEquals(0, built.exitCode(), "go build tools/crd-check:\n" + built.output());
  }

  static Stream<String> layouts() {
    return Stream.of("deploy/kubernetes/egress-gateway", "deploy/kubernetes/authz-service",
        "deploy/istio", "deploy/envoy-gateway");
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("layouts")
  void layout_everyResourcePassesItsValidator(String layout, @TempDir Path dir)
      throws Exception {
    Path rendered = render(layout, dir);

    Result kube = kubeconform(rendered);
    assertEquals(0, kube.exitCode(), "kubeconform " + layout + ":\n" + kube.output());
    Matcher summary = Pattern.compile("Valid: (\\d+), Invalid: 0, Errors: 0, Skipped: (\\d+)")
        .matcher(kube.output());
    assertTrue(summary.find(), kube.output());

    Result crds = run(ROOT, crdCheck, rendered.toString());
    assertEquals(0, crds.exitCode(), "crd-check " + layout + ":\n" + crds.output());
    Matcher counts = Pattern.compile("(\\d+) checked, (\\d+) skipped, 0 failed")
        .matcher(crds.output());
    assertTrue(counts.find(), crds.output());
    // Every resource was validated by exactly one of the two tools.
    assertEquals(summary.group(2), counts.group(1), "kubeconform skipped what crd-check "
        + "checked:\n" + kube.output() + crds.output());
    assertEquals(summary.group(1), counts.group(2), "crd-check skipped what kubeconform "
        + "validated:\n" + kube.output() + crds.output());
    assertNotEquals("0", summary.group(1), "no Kubernetes resource rendered");
  }

  @Test
  void filesOutsideKustomize_passCrdCheck() throws Exception {
    Result result = run(ROOT, crdCheck, ROOT.resolve("deploy/istio/mesh-config.yaml").toString(),
        ROOT.resolve("deploy/envoy-gateway/gatewayclass.yaml").toString());

    assertEquals(0, result.exitCode(), result.output());
    assertTrue(result.output().contains("2 checked, 0 skipped, 0 failed"), result.output());
  }

  @Test
  void kubeconform_refusesAnUnknownField(@TempDir Path dir) throws Exception {
    Path rendered = render("deploy/kubernetes/egress-gateway", dir);
    String yaml = Files.readString(rendered)
        .replace("readOnlyRootFilesystem: true", "readOnlyRootFileSystem: true");
    Files.writeString(rendered, yaml);

    Result result = kubeconform(rendered);

    assertEquals(1, result.exitCode(), result.output());
    assertTrue(result.output().contains("readOnlyRootFileSystem"), result.output());
  }

  @Test
  void crdCheck_refusesAnUnknownFieldAndAnUnknownEnum(@TempDir Path dir) throws Exception {
    Path rendered = render("deploy/istio", dir);
    String yaml = Files.readString(rendered);
    Files.writeString(rendered, yaml.replace("action: CUSTOM", "action: CUSTOMISED")
        .replace("clearRouteCache", "clearRouteCash")
        .replace("subjectAltNames:", "subjectAltName:"));

    Result result = run(ROOT, crdCheck, rendered.toString());

    assertEquals(1, result.exitCode(), result.output());
    assertTrue(result.output().contains("CUSTOMISED"), result.output());
    assertTrue(result.output().contains("subjectAltName"), result.output());

    Path eg = render("deploy/envoy-gateway", dir.resolve("eg"));
    Files.writeString(eg, Files.readString(eg).replace("recomputeRoute:", "recomputeRoutes:")
        // Caught only by the CRD schema: the Go types' fields are plain strings.
        .replace("escapedSlashesAction: RejectRequest", "escapedSlashesAction: Reject")
        .replace("body: Streamed", "body: STREAMED"));
    Result egResult = run(ROOT, crdCheck, eg.toString());
    assertEquals(1, egResult.exitCode(), egResult.output());
    assertTrue(egResult.output().contains("recomputeRoutes"), egResult.output());
    assertTrue(egResult.output().contains("'/spec/path/escapedSlashesAction': value must be one "
        + "of"), egResult.output());
    assertTrue(egResult.output().contains("'/spec/extProc/0/processingMode/response/body': "
        + "value must be one of"), egResult.output());
  }

  /**
   * The gateway's Envoy bootstrap is the production example, changed only where the sidecar
   * layout needs it; the committed file is regenerated and compared.
   */
  @Test
  void gatewayEnvoyConfig_isTheProductionExampleWithAuthzOnLoopback(@TempDir Path dir)
      throws Exception {
    Path generated = dir.resolve("envoy.yaml");
    EnvoyConfig.load(ROOT.resolve("envoy/production.example.yaml"))
        .withClusterEndpoint("perishable_authz", "127.0.0.1", 7401)
        .write(generated);
    // EnvoyConfig's own first line names the absolute source path; ours names it relatively.
    String body = Files.readString(generated);
    String expected = GATEWAY_ENVOY_HEADER + body.substring(body.indexOf('\n') + 1);
    if (Boolean.getBoolean("perishable.regenerate")) {
      Files.writeString(GATEWAY_ENVOY, expected);
    }

    assertEquals(expected, Files.readString(GATEWAY_ENVOY), GATEWAY_ENVOY + " is out of date "
        + "with envoy/production.example.yaml; regenerate it (see its first lines)");
  }

  /** What Envoy runs in the egress-gateway pod is what `envoy --mode validate` accepted. */
  @Test
  void gatewayEnvoyConfig_asRenderedIntoItsConfigMap_isAcceptedByEnvoy(@TempDir Path dir)
      throws Exception {
    JsonNode configMap = resource(documents(render("deploy/kubernetes/egress-gateway", dir)),
        "ConfigMap", "envoy-config");
    String envoyYaml = configMap.at("/data/envoy.yaml").asText();
    assertEquals(Files.readString(GATEWAY_ENVOY), envoyYaml);
    Path extracted = dir.resolve("envoy-from-configmap.yaml");
    Files.writeString(extracted, envoyYaml);

    EnvoyValidator.validate(EnvoyBinary.locate(ROOT), extracted);
  }

  /**
   * The EnvoyFilter that puts a buffer filter in front of Istio's ext_authz: its HTTP filter,
   * placed before ext_authz in the production example, is accepted by Envoy.
   */
  @Test
  void istioBufferFilter_isAcceptedByEnvoy(@TempDir Path dir) throws Exception {
    JsonNode filter = resource(documents(render("deploy/istio", dir)), "EnvoyFilter",
        "perishable-request-buffer").at("/spec/configPatches/0/patch/value");
    ObjectNode bootstrap = (ObjectNode) YAML.readTree(
        ROOT.resolve("envoy/production.example.yaml").toFile());
    ArrayNode httpFilters = (ArrayNode) bootstrap.at("/static_resources/listeners/0"
        + "/filter_chains/0/filters/0/typed_config/http_filters");
    int extAuthz = -1;
    for (int i = 0; i < httpFilters.size(); i++) {
      String name = httpFilters.get(i).path("name").asText();
      if (name.equals("envoy.filters.http.buffer")) {
        httpFilters.remove(i--);
      } else if (name.equals("envoy.filters.http.ext_authz")) {
        extAuthz = i;
      }
    }
    assertTrue(extAuthz >= 0, "no ext_authz filter in the production example");
    httpFilters.insert(extAuthz, filter);
    Path config = dir.resolve("istio-buffer.yaml");
    YAML.writeValue(config.toFile(), bootstrap);

    EnvoyValidator.validate(EnvoyBinary.locate(ROOT), config);
  }

  /**
   * The EnvoyFilter that adds usage metering to Istio's gateway: its ext_proc filter, put in
   * place of the production example's own with a cluster of Istio's name for the authz
   * Service, is accepted by Envoy. (Validate mode checks the filter's fields and types; it does
   * not resolve the gRPC service's cluster, so the cluster's name is checked by the test
   * below, against Istio's naming scheme.)
   */
  @Test
  void istioUsageMeterFilter_isAcceptedByEnvoy(@TempDir Path dir) throws Exception {
    JsonNode patch = resource(documents(render("deploy/istio", dir)), "EnvoyFilter",
        "perishable-usage-meter").at("/spec/configPatches/0");
    ObjectNode bootstrap = (ObjectNode) YAML.readTree(
        ROOT.resolve("envoy/production.example.yaml").toFile());
    ArrayNode httpFilters = (ArrayNode) bootstrap.at(HTTP_FILTERS);
    int extProc = filterIndex(httpFilters, EXT_PROC);
    assertTrue(extProc >= 0, "no ext_proc filter in the production example");
    httpFilters.set(extProc, patch.at("/patch/value"));
    ArrayNode clusters = (ArrayNode) bootstrap.at("/static_resources/clusters");
    ObjectNode authzCluster = null;
    for (JsonNode cluster : clusters) {
      if (cluster.path("name").asText().equals("perishable_authz")) {
        authzCluster = ((ObjectNode) cluster).deepCopy();
      }
    }
    assertTrue(authzCluster != null, "no perishable_authz cluster in the production example");
    authzCluster.put("name", ISTIO_AUTHZ_CLUSTER);
    ((ObjectNode) authzCluster.get("load_assignment")).put("cluster_name", ISTIO_AUTHZ_CLUSTER);
    clusters.add(authzCluster);
    Path config = dir.resolve("istio-usage-meter.yaml");
    YAML.writeValue(config.toFile(), bootstrap);

    EnvoyValidator.validate(EnvoyBinary.locate(ROOT), config);
  }

  /**
   * Istio's metering filter is the production example's, changed only where the mesh needs it
   * (the cluster and authority of its gRPC service), and sits right after ext_authz.
   */
  @Test
  void istioUsageMeterFilter_isTheProductionExamplesAfterExtAuthz(@TempDir Path dir)
      throws Exception {
    JsonNode patch = resource(documents(render("deploy/istio", dir)), "EnvoyFilter",
        "perishable-usage-meter").at("/spec/configPatches/0");
    assertEquals("INSERT_AFTER", patch.at("/patch/operation").asText());
    assertEquals(EXT_AUTHZ, patch.at("/match/listener/filterChain/filter/subFilter/name")
        .asText());
    assertEquals("GATEWAY", patch.at("/match/context").asText());

    ObjectNode ours = (ObjectNode) patch.at("/patch/value/typed_config").deepCopy();
    ArrayNode example = (ArrayNode) YAML.readTree(
        ROOT.resolve("envoy/production.example.yaml").toFile()).at(HTTP_FILTERS);
    ObjectNode theirs =
        (ObjectNode) example.get(filterIndex(example, EXT_PROC)).get("typed_config").deepCopy();
    JsonNode ourService = ours.remove("grpc_service");
    JsonNode theirService = theirs.remove("grpc_service");
    assertEquals(theirs, ours, "the metering filter differs from the production example's");
    assertEquals(theirService.get("timeout"), ourService.get("timeout"));
    assertEquals(ISTIO_AUTHZ_CLUSTER, ourService.at("/envoy_grpc/cluster_name").asText());
    assertEquals("authz.perishable.svc.cluster.local",
        ourService.at("/envoy_grpc/authority").asText());
  }

  /**
   * Envoy Gateway's EnvoyExtensionPolicy asks for what the production example's ext_proc filter
   * configures, in Envoy Gateway's words (Envoy Gateway's translator maps each field).
   */
  @Test
  void envoyGatewayUsageMeter_matchesTheProductionExamplesFilter(@TempDir Path dir)
      throws Exception {
    JsonNode extProc = resource(documents(render("deploy/envoy-gateway", dir)),
        "EnvoyExtensionPolicy", "perishable-usage-meter").at("/spec/extProc");
    assertEquals(1, extProc.size(), extProc.toString());
    JsonNode ours = extProc.get(0);
    ArrayNode example = (ArrayNode) YAML.readTree(
        ROOT.resolve("envoy/production.example.yaml").toFile()).at(HTTP_FILTERS);
    JsonNode theirs = example.get(filterIndex(example, EXT_PROC)).get("typed_config");

    assertEquals(theirs.path("observability_mode").asBoolean(),
        ours.path("shadowMode").asBoolean());
    assertEquals(theirs.path("failure_mode_allow").asBoolean(),
        ours.path("failOpen").asBoolean());
    JsonNode mode = theirs.get("processing_mode");
    // Envoy Gateway sends request headers iff processingMode.request is present, response
    // headers iff processingMode.response is; trailers are always skipped unless full duplex.
    assertEquals("SEND", mode.path("request_header_mode").asText());
    assertTrue(ours.at("/processingMode/request").isObject(), ours.toString());
    assertEquals("NONE", mode.path("request_body_mode").asText());
    assertTrue(ours.at("/processingMode/request/body").isMissingNode(), ours.toString());
    assertEquals("SEND", mode.path("response_header_mode").asText());
    assertEquals("STREAMED", mode.path("response_body_mode").asText());
    assertEquals("Streamed", ours.at("/processingMode/response/body").asText());
    assertEquals(List.of("SKIP", "SKIP"), List.of(mode.path("request_trailer_mode").asText(),
        mode.path("response_trailer_mode").asText()));
    assertEquals(theirs.at("/metadata_options/forwarding_namespaces/untyped"),
        ours.at("/metadata/accessibleNamespaces"));
  }

  static Stream<String> gatewayLayouts() {
    return Stream.of("deploy/kubernetes/egress-gateway", "deploy/istio",
        "deploy/envoy-gateway");
  }

  /**
   * Every gateway layout checks requests with authz-service, so enforces budgets; each must
   * also stream responses to authz-service's meter, or budgeted requests are charged their
   * worst case and the usage metrics stay empty.
   */
  @ParameterizedTest(name = "{0}")
  @MethodSource("gatewayLayouts")
  void budgetEnforcingLayout_metersResponses(String layout, @TempDir Path dir)
      throws Exception {
    List<JsonNode> docs = documents(render(layout, dir));

    assertTrue(enforcesBudgets(docs), "no ext_authz to authz-service found in " + layout);
    assertEquals(List.of(), meteringGaps(docs));
  }

  /** The check above notices a mesh layout whose metering resource is missing or wrong. */
  @ParameterizedTest(name = "{0}")
  @MethodSource("meshLayouts")
  void meteringCheck_noticesAMissingOrWrongMeter(String layout, String ignored,
      @TempDir Path dir) throws Exception {
    List<JsonNode> docs = documents(render(layout, dir));
    List<JsonNode> without = new ArrayList<>(docs);
    without.removeIf(d -> d.at("/metadata/name").asText().equals("perishable-usage-meter"));
    assertEquals(docs.size() - 1, without.size());

    assertTrue(enforcesBudgets(without));
    assertFalse(meteringGaps(without).isEmpty(), "a missing meter went unnoticed");

    List<JsonNode> buffered = new ArrayList<>();
    for (JsonNode doc : docs) {
      String yaml = YAML.writeValueAsString(doc).replace("STREAMED", "BUFFERED")
          .replace("Streamed", "Buffered");
      buffered.add(YAML.readTree(yaml));
    }
    assertFalse(meteringGaps(buffered).isEmpty(), "a buffered meter went unnoticed");
  }

  /** Whether the rendered layout puts authz-service's ext_authz in front of a gateway. */
  private static boolean enforcesBudgets(List<JsonNode> docs) throws IOException {
    for (JsonNode doc : docs) {
      switch (doc.path("kind").asText()) {
        case "ConfigMap" -> {
          JsonNode envoy = envoyConfig(doc);
          if (envoy != null && filterIndex(envoy.at(HTTP_FILTERS), EXT_AUTHZ) >= 0) {
            return true;
          }
        }
        case "AuthorizationPolicy" -> {
          if (doc.at("/spec/action").asText().equals("CUSTOM")
              && doc.at("/spec/provider/name").asText().equals("perishable")) {
            return true;
          }
        }
        case "SecurityPolicy" -> {
          if (doc.at("/spec/extAuth/grpc/backendRefs/0/name").asText().equals("authz")) {
            return true;
          }
        }
        default -> { }
      }
    }
    return false;
  }

  /**
   * What is missing for the layout's gateway to meter responses as the production example
   * does: an ext_proc filter after ext_authz, to authz-service, in observability mode, with the
   * response body streamed and the ext_authz metadata forwarded. Empty when nothing is.
   */
  private static List<String> meteringGaps(List<JsonNode> docs) throws IOException {
    List<String> gaps = new ArrayList<>();
    boolean metered = false;
    for (JsonNode doc : docs) {
      switch (doc.path("kind").asText()) {
        case "ConfigMap" -> {
          JsonNode envoy = envoyConfig(doc);
          if (envoy == null) {
            break;
          }
          JsonNode filters = envoy.at(HTTP_FILTERS);
          int extAuthz = filterIndex(filters, EXT_AUTHZ);
          int extProc = filterIndex(filters, EXT_PROC);
          if (extProc < 0) {
            gaps.add("envoy.yaml has no ext_proc filter");
          } else if (extProc < extAuthz) {
            gaps.add("envoy.yaml's ext_proc filter runs before ext_authz");
          } else {
            metered = true;
            gaps.addAll(envoyMeterGaps(filters.get(extProc).get("typed_config"),
                "perishable_authz"));
          }
        }
        case "EnvoyFilter" -> {
          for (JsonNode patch : doc.at("/spec/configPatches")) {
            if (!patch.at("/patch/value/name").asText().equals(EXT_PROC)) {
              continue;
            }
            metered = true;
            if (!patch.at("/patch/operation").asText().equals("INSERT_AFTER")
                || !patch.at("/match/listener/filterChain/filter/subFilter/name").asText()
                    .equals(EXT_AUTHZ)) {
              gaps.add("the EnvoyFilter does not insert ext_proc right after ext_authz");
            }
            gaps.addAll(envoyMeterGaps(patch.at("/patch/value/typed_config"),
                ISTIO_AUTHZ_CLUSTER));
          }
        }
        case "EnvoyExtensionPolicy" -> {
          for (JsonNode extProc : doc.at("/spec/extProc")) {
            metered = true;
            if (!extProc.at("/backendRefs/0/name").asText().equals("authz")
                || extProc.at("/backendRefs/0/port").asInt() != 7401) {
              gaps.add("the EnvoyExtensionPolicy's extProc is not authz:7401");
            }
            if (!extProc.path("shadowMode").asBoolean()) {
              gaps.add("the EnvoyExtensionPolicy's extProc is not in shadowMode");
            }
            if (!extProc.at("/processingMode/request").isObject()) {
              gaps.add("the EnvoyExtensionPolicy's extProc does not send request headers");
            }
            if (!extProc.at("/processingMode/response/body").asText().equals("Streamed")) {
              gaps.add("the EnvoyExtensionPolicy's extProc does not stream the response body");
            }
            if (!extProc.at("/metadata/accessibleNamespaces").toString().contains(EXT_AUTHZ)) {
              gaps.add("the EnvoyExtensionPolicy's extProc gets no ext_authz metadata");
            }
          }
        }
        default -> { }
      }
    }
    if (!metered) {
      gaps.add("no ext_proc filter, EnvoyFilter or EnvoyExtensionPolicy meters responses");
    }
    return gaps;
  }

  private static List<String> envoyMeterGaps(JsonNode extProc, String cluster) {
    List<String> gaps = new ArrayList<>();
    if (!extProc.at("/grpc_service/envoy_grpc/cluster_name").asText().equals(cluster)) {
      gaps.add("ext_proc does not call " + cluster);
    }
    if (!extProc.path("observability_mode").asBoolean()) {
      gaps.add("ext_proc is not in observability_mode");
    }
    if (!extProc.at("/processing_mode/request_header_mode").asText().equals("SEND")) {
      gaps.add("ext_proc does not send request headers");
    }
    if (!extProc.at("/processing_mode/response_body_mode").asText().equals("STREAMED")) {
      gaps.add("ext_proc does not stream the response body");
    }
    if (!extProc.at("/metadata_options/forwarding_namespaces/untyped").toString()
        .contains(EXT_AUTHZ)) {
      gaps.add("ext_proc gets no ext_authz metadata");
    }
    return gaps;
  }

  /** The Envoy bootstrap a ConfigMap carries as envoy.yaml, or null. */
  private static JsonNode envoyConfig(JsonNode configMap) throws IOException {
    JsonNode envoyYaml = configMap.at("/data/envoy.yaml");
    return envoyYaml.isTextual() ? YAML.readTree(envoyYaml.asText()) : null;
  }

  private static int filterIndex(JsonNode httpFilters, String name) {
    for (int i = 0; i < httpFilters.size(); i++) {
      if (httpFilters.get(i).path("name").asText().equals(name)) {
        return i;
      }
    }
    return -1;
  }

  /**
   * The rendered config is one perishable accepts, and its sidecar layout keeps Check on
   * loopback with /metrics reachable.
   */
  @Test
  void perishableConfig_asRendered_isValid_andKeepsCheckOnLoopback(@TempDir Path dir)
      throws Exception {
    JsonNode configMap = resource(documents(render("deploy/kubernetes/egress-gateway", dir)),
        "ConfigMap", "perishable-config");
    Path config = dir.resolve("perishable.yaml");
    Files.writeString(config, configMap.at("/data/perishable.yaml").asText());
    ConfigFile file = ConfigFile.load(config);

    var authz = file.authz().validate();
    file.controlPlane().validate();
    assertEquals("127.0.0.1", authz.host());
    assertEquals("0.0.0.0", authz.metricsHost());
    assertTrue(file.authzReports().isPresent(), "decision reports configured");
  }

  /**
   * Every container names a pinned tag, and each perishable container's args are what its
   * image's entrypoint (which already names the subcommand, see ContainerImageIT) accepts after
   * it: no repeated subcommand, no unknown flag.
   */
  @ParameterizedTest(name = "{0}")
  @MethodSource("layouts")
  void containers_pinTheirTags_andPerishableArgsParseAfterTheEntrypoint(String layout, @TempDir Path dir)
      throws Exception {
    int checked = 0;
    for (JsonNode doc : documents(render(layout, dir))) {
      for (JsonNode container : doc.at("/spec/template/spec/containers")) {
        String image = container.path("image").asText();
        String tag = image.substring(image.lastIndexOf('/') + 1);
        assertTrue(tag.contains(":") && !tag.endsWith(":latest"),
            "an image without a pinned tag: " + image);
        for (ContainerImageIT.Service service : ContainerImageIT.Service.values()) {
          if (!image.startsWith("perishable/" + service.image + ":")) {
            continue;
          }
          assertFalse(container.has("command"), "command would replace the image's entrypoint");
          List<String> argv = new ArrayList<>(List.of(service.subcommand));
          container.path("args").forEach(arg -> argv.add(arg.asText()));
          PerishableCommand.commandLine().parseArgs(argv.toArray(String[]::new));
          checked++;
        }
      }
    }
    assertTrue(checked > 0, "no perishable container in " + layout);
  }

  /** Provider keys reach authz-service as a directory mount, so Secret rotation propagates. */
  @ParameterizedTest(name = "{0}")
  @MethodSource("layouts")
  void providerKeys_mountedAsADirectory_neverSubPath(String layout, @TempDir Path dir)
      throws Exception {
    List<String> seen = new ArrayList<>();
    for (JsonNode doc : documents(render(layout, dir))) {
      for (JsonNode container : doc.at("/spec/template/spec/containers")) {
        for (JsonNode mount : container.path("volumeMounts")) {
          if (mount.path("name").asText().equals("provider-keys")) {
            seen.add(doc.at("/metadata/name").asText() + "/" + container.path("name").asText());
            assertFalse(mount.has("subPath"), "subPath stops Secret updates: " + mount);
            assertEquals("/etc/perishable/provider-keys", mount.path("mountPath").asText());
          }
        }
      }
    }
    assertFalse(seen.isEmpty(), "no container mounts the provider keys in " + layout);
  }

  /** In the sidecar layout nothing outside the pod is admitted to Check, even off loopback. */
  @Test
  void egressGatewayPods_admitOnlyTheLlmAndMetricsPorts(@TempDir Path dir) throws Exception {
    JsonNode policy = resource(documents(render("deploy/kubernetes/egress-gateway", dir)),
        "NetworkPolicy", "egress-gateway");
    assertEquals("egress-gateway",
        policy.at("/spec/podSelector/matchLabels/app.kubernetes.io~1name").asText());

    assertEquals(List.of(10000, 7411), ingressPorts(policy));
  }

  /** In the mesh layouts Check admits only the named gateway's pods, in the named namespace. */
  @ParameterizedTest(name = "{0}")
  @MethodSource("meshLayouts")
  void authzCheckPort_admitsOnlyTheGatewayPods(String layout, String gatewayNamespace,
      @TempDir Path dir) throws Exception {
    JsonNode policy = resource(documents(render(layout, dir)), "NetworkPolicy", "authz");
    assertEquals(List.of(7401, 7411), ingressPorts(policy));

    JsonNode checkRule = policy.at("/spec/ingress/0");
    assertEquals(1, checkRule.path("from").size(), checkRule.toString());
    JsonNode from = checkRule.at("/from/0");
    assertEquals(gatewayNamespace,
        from.at("/namespaceSelector/matchLabels/kubernetes.io~1metadata.name").asText());
    assertFalse(from.at("/podSelector/matchLabels").isEmpty(), "any pod of " + gatewayNamespace);
  }

  static Stream<Arguments> meshLayouts() {
    return Stream.of(
        Arguments.of("deploy/istio", "istio-egress"),
        Arguments.of("deploy/envoy-gateway", "envoy-gateway-system"));
  }

  private static List<Integer> ingressPorts(JsonNode policy) {
    List<Integer> ports = new ArrayList<>();
    for (JsonNode rule : policy.at("/spec/ingress")) {
      assertFalse(rule.path("from").isEmpty(), "a rule open to everyone: " + rule);
      for (JsonNode port : rule.path("ports")) {
        ports.add(port.path("port").asInt());
      }
    }
    return ports;
  }

  private static Path render(String layout, Path dir) throws Exception {
    Result result = run(ROOT, kustomize, "build", ROOT.resolve(layout).toString());
    assertEquals(0, result.exitCode(), "kustomize build " + layout + ":\n" + result.output());
    Files.createDirectories(dir);
    Path rendered = dir.resolve("rendered.yaml");
    Files.writeString(rendered, result.stdout());
    return rendered;
  }

  private static Result kubeconform(Path file) throws Exception {
    return run(ROOT, kubeconform, "-strict", "-summary", "-kubernetes-version",
        KUBERNETES_VERSION, "-schema-location", schemaLocation, "-skip", CRD_KINDS,
        file.toString());
  }

  private static List<JsonNode> documents(Path file) throws IOException {
    List<JsonNode> docs = new ArrayList<>();
    try (MappingIterator<JsonNode> it = YAML.readerFor(JsonNode.class).readValues(file.toFile())) {
      while (it.hasNext()) {
        JsonNode doc = it.next();
        if (doc != null && !doc.isNull() && !doc.isMissingNode()) {
          docs.add(doc);
        }
      }
    }
    return docs;
  }

  private static JsonNode resource(List<JsonNode> docs, String kind, String namePrefix) {
    return docs.stream()
        .filter(d -> d.path("kind").asText().equals(kind)
            && d.at("/metadata/name").asText().startsWith(namePrefix))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no " + kind + " " + namePrefix + "*"));
  }

  private static String installed(String script, String... args)
      throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of(ROOT.resolve(script).toString()));
    command.addAll(List.of(args));
    Result result = run(ROOT, command.toArray(String[]::new));
    assertEquals(0, result.exitCode(), script + " failed:\n" + result.output());
    return lastLine(result.stdout());
  }

  private static String lastLine(String output) {
    String out = output.strip();
    return out.substring(out.lastIndexOf('\n') + 1);
  }

  record Result(int exitCode, String stdout, String output) {}

  /** Runs a command; stdout alone and stdout+stderr are both kept. */
  private static Result run(Path directory, String... command)
      throws IOException, InterruptedException {
    Path err = Files.createTempFile("k8s-it", ".err");
    try {
      Process process = new ProcessBuilder(command).directory(directory.toFile())
          .redirectError(err.toFile()).start();
      String out;
      try (InputStream in = process.getInputStream()) {
        out = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      }
      assertTrue(process.waitFor(600, TimeUnit.SECONDS), "timed out: " + List.of(command));
      return new Result(process.exitValue(), out, out + Files.readString(err));
    } finally {
      Files.deleteIfExists(err);
    }
  }
}
