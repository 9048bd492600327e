package io.perishable.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.grpc.ManagedChannel;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.NettyChannelBuilder;
import io.perishable.authz.config.AuthzConfig;
import io.perishable.cli.stack.LoopbackPorts;
import io.perishable.controlplane.config.ControlPlaneConfig;
import io.perishable.controlplane.issuer.IssuerAuthenticator;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.KeyStoreException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The container images {@code bin/test} builds (Maven profile {@code images}, Jib to tarballs):
 * each image's config says what the Kubernetes manifests rely on (name and tag, non-root user,
 * entrypoint, ports, config and data paths), its file system holds what the entrypoint runs,
 * and both services start from their images' own file systems as uid 65532 (in a user
 * namespace, chrooted, no root needed) and report SERVING on gRPC health.
 */
@EnabledIfSystemProperty(named = "perishable.images", matches = ".+")
class ContainerImageIT {
  private static final String SECRET = "pis_image-it-0123456789abcdef";
  private static final String OPENAI_KEY = "sk-fake-openai-image-it-0123456789";
  private static final String CONFIG = "/etc/perishable/perishable.yaml";
  private static final String DATA = "/var/lib/perishable";
  private static final String NONROOT = "65532:65532";

  /** The two images and what the manifests are told about them: the services' default ports. */
  enum Service {
    CONTROL_PLANE("control-plane", "control-plane", ControlPlaneConfig.DEFAULT_PORT,
        ControlPlaneConfig.DEFAULT_METRICS_PORT),
    AUTHZ("authz-service", "authz", AuthzConfig.DEFAULT_PORT, AuthzConfig.DEFAULT_METRICS_PORT);

    final String image;
    final String subcommand;
    final int grpcPort;
    final int metricsPort;

    Service(String image, String subcommand, int grpcPort, int metricsPort) {
      this.image = image;
      this.subcommand = subcommand;
      this.grpcPort = grpcPort;
      this.metricsPort = metricsPort;
    }
  }

  private static final Map<Service, ContainerImage> OPENED = new EnumMap<>(Service.class);
  /** Unpacked blobs and file systems: some hundred MB each, removed after the class. */
  private static final List<Path> SCRATCH = new ArrayList<>();

  @AfterAll
  static void removeScratch() throws IOException {
    for (Path dir : SCRATCH) {
      try (Stream<Path> walk = Files.walk(dir)) {
        for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
          Files.delete(p);
        }
      }
    }
  }

  private static synchronized ContainerImage open(Service s) throws IOException {
    ContainerImage opened = OPENED.get(s);
    if (opened != null) {
      return opened;
    }
    Path tarball = Path.of(System.getProperty("perishable.images"), s.image + ".tar");
    assertTrue(Files.isRegularFile(tarball), "no image at " + tarball
        + ": bin/test builds it (./mvnw package -Dperishable.base.image=$(images/base-image.sh))");
    Path work = Files.createTempDirectory(Files.createDirectories(
        Path.of("target", "image-work")), s.image + "-");
    SCRATCH.add(work);
    opened = ContainerImage.open(tarball, work.toAbsolutePath());
    OPENED.put(s, opened);
    return opened;
  }

  @ParameterizedTest
  @EnumSource(Service.class)
  void config_namesTagUserEntrypointPortsAndPaths(Service s) throws IOException {
    ContainerImage image = open(s);
    assertEquals(List.of("perishable/" + s.image + ":" + System.getProperty("perishable.version")),
        image.repoTags());
    JsonNode c = image.config();
    assertEquals(NONROOT, c.path("User").asText());
    assertEquals(List.of("/usr/bin/java", "-XX:MaxRAMPercentage=75",
        "-XX:+ExitOnOutOfMemoryError", "-XX:-UsePerfData", "-cp", "@/app/jib-classpath-file",
        "io.perishable.cli.PerishableCommand", s.subcommand), strings(c.path("Entrypoint")));
    assertEquals(List.of("--config", CONFIG), strings(c.path("Cmd")));
    Set<String> ports = new TreeSet<>();
    c.path("ExposedPorts").fieldNames().forEachRemaining(ports::add);
    assertEquals(new TreeSet<>(Set.of(s.grpcPort + "/tcp", s.metricsPort + "/tcp")), ports);
    assertEquals(DATA, c.path("WorkingDir").asText());
    assertTrue(c.path("Volumes").has(DATA), c.path("Volumes").toString());
    assertTrue(strings(c.path("Env")).contains("JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64"));
    JsonNode labels = c.path("Labels");
    assertEquals(System.getProperty("perishable.version"),
        labels.path("org.opencontainers.image.version").asText());
    assertTrue(labels.path("org.opencontainers.image.title").asText().startsWith("perishable "));
    assertTrue(labels.path("io.perishable.base.packages").asText()
        .contains("openjdk-17-jre-headless="), labels.toString());
  }

  @ParameterizedTest
  @EnumSource(Service.class)
  void fileSystem_holdsWhatTheEntrypointRuns_ownedByRoot(Service s) throws Exception {
    ContainerImage image = open(s);
    ContainerImage.Entry java = image.resolve("/usr/bin/java");
    assertNotNull(java, "/usr/bin/java does not resolve inside the image");
    assertEquals(ContainerImage.Entry.Type.FILE, java.type());
    assertTrue((java.mode() & 0111) != 0, "java is not executable: " + java);
    for (String lib : List.of("/lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/libc.so.6",
        "/lib/x86_64-linux-gnu/libz.so.1", "/usr/lib/x86_64-linux-gnu/libstdc++.so.6",
        "/usr/lib/jvm/java-17-openjdk-amd64/lib/server/libjvm.so",
        "/usr/lib/jvm/java-17-openjdk-amd64/lib/security/cacerts")) {
      assertNotNull(image.resolve(lib), lib + " missing (or a dangling link)");
    }

    String classpath = new String(image.read("/app/jib-classpath-file"),
        StandardCharsets.UTF_8).strip();
    for (String element : classpath.split(":")) {
      assertNotNull(image.resolve(element), "classpath entry " + element + " is not in the image");
    }
    assertNotNull(image.resolve("/app/classes/io/perishable/cli/PerishableCommand.class"));
    // The JRE's trust store (built from Debian's ca-certificates) holds the public CAs, for
    // TLS to Vault or a control plane with a public certificate.
    KeyStore cacerts = KeyStore.getInstance("PKCS12");
    cacerts.load(new ByteArrayInputStream(
        image.read("/usr/lib/jvm/java-17-openjdk-amd64/lib/security/cacerts")), null);
    assertTrue(cacerts.size() > 100, "trust store has " + cacerts.size() + " certificates");
    assertTrue(Collections.list(cacerts.aliases()).stream()
        .allMatch(a -> isCertificateEntry(cacerts, a)), "the trust store holds non-CA entries");
    assertTrue(image.entries().keySet().stream().anyMatch(
        p -> p.matches("app/libs/perishable-" + (s == Service.AUTHZ ? "authz-service"
            : "control-plane") + "-.*\\.jar")), "the service's jar is not in /app/libs");

    // Only the non-root user's home and the data directory belong to it; all else is root's,
    // so the running service cannot change its own code or runtime.
    List<String> notRoot = new ArrayList<>();
    image.entries().values().forEach(e -> {
      if (e.uid() != 0 || e.gid() != 0) {
        notRoot.add(e.path() + " " + e.uid() + ":" + e.gid());
      }
    });
    assertEquals(List.of("home/nonroot 65532:65532", "var/lib/perishable 65532:65532"),
        notRoot.stream().sorted().toList());
    assertEquals(0700, image.resolve(DATA).mode());
    assertEquals(01777, image.resolve("/tmp").mode());
  }

  @Test
  void bothServices_runFromTheirImagesAsNonRoot_andTurnServing() throws Exception {
    assumeUserNamespaces();
    int cpPort = LoopbackPorts.freePort();
    int cpMetrics = LoopbackPorts.freePort();
    int authzPort = LoopbackPorts.freePort();
    int authzMetrics = LoopbackPorts.freePort();
    String config = String.join("\n",
        "control_plane:",
        "  host: 127.0.0.1",
        "  port: " + cpPort,
        "  metrics_port: " + cpMetrics,
        "  data_dir: " + DATA + "/control-plane",
        "  heartbeat_interval: 200ms",
        "  issuers:",
        "    - id: image-it",
        "      secret_sha256: " + HexFormat.of().formatHex(IssuerAuthenticator.sha256(SECRET)),
        "authz:",
        "  host: 127.0.0.1",
        "  port: " + authzPort,
        "  metrics_port: " + authzMetrics,
        "  control_plane: 127.0.0.1:" + cpPort,
        "  replica_id: image-it",
        "scopes:",
        "  llm:complete:",
        "    methods: [POST]",
        "    paths: [/v1/chat/completions]",
        "upstreams:",
        "  openai:",
        "    provider: openai",
        "    api_key_file: /etc/perishable/openai.key",
        "");
    Path logs = Files.createDirectories(Path.of("target", "it-data", "container-images"));
    List<Process> processes = new ArrayList<>();
    List<ManagedChannel> channels = new ArrayList<>();
    List<ProcessHandle> jvms = new ArrayList<>();
    try {
      Map<Service, Path> roots = new EnumMap<>(Service.class);
      for (Service s : Service.values()) {
        ContainerImage image = open(s);
        Path root = Files.createTempDirectory(Files.createDirectories(
            Path.of("target", "image-roots")), s.image + "-").toAbsolutePath();
        SCRATCH.add(root);
        image.extractTo(root);
        // What the manifests mount: the config file and key (ConfigMap, Secret).
        Files.createDirectories(root.resolve("etc/perishable"));
        Files.writeString(root.resolve("etc/perishable/perishable.yaml"), config,
            StandardCharsets.UTF_8);
        Files.writeString(root.resolve("etc/perishable/openai.key"), OPENAI_KEY + "\n",
            StandardCharsets.UTF_8);
        roots.put(s, root);
      }
      for (Service s : Service.values()) {
        processes.add(run(open(s), roots.get(s), logs.resolve(s.image + ".log")));
      }
      ManagedChannel cp = channel(cpPort, channels);
      ManagedChannel authz = channel(authzPort, channels);
      // authz-service is SERVING only once it has synced keys from the control plane.
      ReplicatedStack.await("control plane SERVING on gRPC health", Duration.ofSeconds(120),
          () -> serving(cp) || failed(processes));
      ReplicatedStack.await("authz-service SERVING on gRPC health", Duration.ofSeconds(120),
          () -> serving(authz) || failed(processes));
      assertTrue(!failed(processes), "a container exited: see " + logs);
      for (int port : List.of(cpMetrics, authzMetrics)) {
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
            URI.create("http://127.0.0.1:" + port + "/metrics")).build(),
            HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode());
        assertTrue(r.body().contains("perishable_"), "no perishable metrics on " + port);
      }
      // The control plane wrote its keys and audit log into the data directory.
      assertTrue(Files.isDirectory(roots.get(Service.CONTROL_PLANE)
          .resolve("var/lib/perishable/control-plane/keys")));
      // Each JVM runs as uid 65532 in its namespace, never as root.
      processes.forEach(p -> jvms.add(jvm(p)));
      for (ProcessHandle jvm : jvms) {
        String uidMap = Files.readString(Path.of("/proc", Long.toString(jvm.pid()), "uid_map"));
        assertEquals("65532", uidMap.strip().split("\\s+")[0], uidMap);
      }
      // SIGTERM to the container's pid 1 (what Kubernetes sends) stops each service: it drains
      // and exits with 143, and its container ends with it.
      jvms.forEach(ProcessHandle::destroy);
      for (Process p : processes) {
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "a service ignored SIGTERM: see " + logs);
        assertEquals(143, p.exitValue(), "exit status after SIGTERM: see " + logs);
      }
    } finally {
      channels.forEach(ManagedChannel::shutdownNow);
      for (Process p : processes) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
      }
      jvms.forEach(ProcessHandle::destroyForcibly);
    }
  }

  /** The service's JVM under a container's unshare process. */
  private static ProcessHandle jvm(Process container) {
    return container.descendants().filter(h -> h.info().command()
        .map(c -> c.endsWith("/java")).orElse(false)).findFirst().orElseThrow(
            () -> new AssertionError("no java process under " + container.info().commandLine()));
  }

  /**
   * Runs the image's entrypoint and command, with the image's environment, chrooted into
   * {@code root} as uid/gid 65532 of a user namespace: the outer namespace (mapped root) mounts
   * /dev and a fresh /proc into the root and makes all but the data directory read-only, the
   * inner one maps the current user to 65532. The network namespace is the host's, so the
   * services listen on this machine's loopback.
   */
  private static Process run(ContainerImage image, Path root, Path log) throws IOException {
    Files.createDirectories(root.resolve("proc"));
    Files.createDirectories(root.resolve("dev"));
    JsonNode c = image.config();
    String[] user = c.path("User").asText().split(":");
    // As Kubernetes with readOnlyRootFilesystem: the root is mounted read-only (and the script
    // proves it is) but for the data directory. exec all the way: the JVM is pid 1 of its pid
    // namespace, as in a container.
    String data = "\"$r" + DATA + "\"";
    String script = String.join("; ",
        "r=\"$1\"; shift",
        "mount --rbind /dev \"$r/dev\" && mount -t proc proc \"$r/proc\" || exit 125",
        "mount --bind " + data + " " + data + " || exit 125",
        "mount --rbind \"$r\" \"$r\" && mount -o remount,bind,ro \"$r\" || exit 125",
        "if touch \"$r/.writable\" 2>/dev/null; then echo 'root is writable' >&2; exit 126; fi",
        "exec unshare --user --map-user=" + user[0] + " --map-group=" + user[1] + " --mount"
            + " --root=\"$r\" --wd=" + c.path("WorkingDir").asText() + " \"$@\"");
    List<String> command = new ArrayList<>(List.of("unshare", "--user", "--map-root-user",
        "--mount", "--pid", "--fork", "bash", "-c", script, "container", root.toString()));
    command.addAll(strings(c.path("Entrypoint")));
    command.addAll(strings(c.path("Cmd")));
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
        .redirectOutput(log.toFile());
    pb.environment().clear();
    for (String kv : strings(c.path("Env"))) {
      int eq = kv.indexOf('=');
      pb.environment().put(kv.substring(0, eq), kv.substring(eq + 1));
    }
    return pb.start();
  }

  /** Skips (with the reason) where unprivileged user namespaces are not available. */
  private static void assumeUserNamespaces() throws Exception {
    Process probe = new ProcessBuilder("unshare", "--user", "--map-root-user", "--mount",
        "--pid", "--fork", "true").redirectErrorStream(true).start();
    String out = new String(probe.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    boolean done = probe.waitFor(30, TimeUnit.SECONDS);
    Assumptions.assumeTrue(done && probe.exitValue() == 0,
        "cannot run the images here: unprivileged user namespaces unavailable (" + out.strip()
            + ")");
  }

  private static boolean isCertificateEntry(KeyStore store, String alias) {
    try {
      return store.isCertificateEntry(alias);
    } catch (KeyStoreException e) {
      throw new IllegalStateException(e);
    }
  }

  private static ManagedChannel channel(int port, List<ManagedChannel> channels) {
    ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
    channels.add(ch);
    return ch;
  }

  private static boolean serving(ManagedChannel channel) {
    try {
      return HealthGrpc.newBlockingStub(channel).withDeadlineAfter(2, TimeUnit.SECONDS)
          .check(HealthCheckRequest.getDefaultInstance()).getStatus()
          == HealthCheckResponse.ServingStatus.SERVING;
    } catch (RuntimeException e) {
      return false;
    }
  }

  private static boolean failed(List<Process> processes) {
    return processes.stream().anyMatch(p -> !p.isAlive());
  }

  private static List<String> strings(JsonNode array) {
    List<String> out = new ArrayList<>();
    array.forEach(n -> out.add(n.asText()));
    return out;
  }
}
