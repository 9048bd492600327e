package io.perishable.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.zip.GZIPInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * A container image in {@code docker save} format (what {@code jib:buildTar} writes), read for
 * tests: its tags, its config, and the file system its layers make, entry by entry with owner
 * and mode as the image declares them. Every layer is checked against its {@code diff_id}.
 */
final class ContainerImage {
  /** One path of the image's file system, as the last layer that wrote it declares it. */
  record Entry(String path, Type type, int mode, long uid, long gid, String linkTarget) {
    enum Type { FILE, DIRECTORY, SYMLINK, HARDLINK }
  }

  private static final ObjectMapper JSON = new ObjectMapper();

  private final List<String> repoTags;
  private final JsonNode config;
  private final Map<String, Entry> entries;
  private final List<Path> layers;

  private ContainerImage(List<String> repoTags, JsonNode config, Map<String, Entry> entries,
      List<Path> layers) {
    this.repoTags = repoTags;
    this.config = config;
    this.entries = entries;
    this.layers = layers;
  }

  /** Unpacks {@code tarball}'s blobs into {@code work} and reads every layer's entries. */
  static ContainerImage open(Path tarball, Path work) throws IOException {
    Files.createDirectories(work);
    try (TarArchiveInputStream tar = new TarArchiveInputStream(Files.newInputStream(tarball))) {
      for (TarArchiveEntry e; (e = tar.getNextEntry()) != null; ) {
        if (e.isFile()) {
          Path target = work.resolve(e.getName()).normalize();
          if (!target.startsWith(work)) {
            throw new IOException("image member outside the image: " + e.getName());
          }
          Files.createDirectories(target.getParent());
          Files.copy(tar, target, StandardCopyOption.REPLACE_EXISTING);
        }
      }
    }
    JsonNode manifest = JSON.readTree(work.resolve("manifest.json").toFile());
    if (manifest.size() != 1) {
      throw new IOException("expected one image in " + tarball + ", found " + manifest.size());
    }
    JsonNode image = manifest.get(0);
    List<String> tags = new ArrayList<>();
    image.get("RepoTags").forEach(t -> tags.add(t.asText()));
    JsonNode config = JSON.readTree(work.resolve(image.get("Config").asText()).toFile());
    JsonNode diffIds = config.at("/rootfs/diff_ids");
    JsonNode layerNames = image.get("Layers");
    if (diffIds.size() != layerNames.size()) {
      throw new IOException(layerNames.size() + " layers but " + diffIds.size() + " diff_ids");
    }
    Map<String, Entry> entries = new LinkedHashMap<>();
    List<Path> layers = new ArrayList<>();
    for (int i = 0; i < layerNames.size(); i++) {
      Path layer = work.resolve(layerNames.get(i).asText());
      layers.add(layer);
      String diffId = readLayer(layer, entries);
      if (!diffId.equals(diffIds.get(i).asText())) {
        throw new IOException("layer " + i + " has diff_id " + diffId + ", the config says "
            + diffIds.get(i).asText());
      }
    }
    return new ContainerImage(List.copyOf(tags), config, entries, List.copyOf(layers));
  }

  List<String> repoTags() {
    return repoTags;
  }

  /** The {@code config} object of the image config (User, Entrypoint, Cmd, Env, ...). */
  JsonNode config() {
    return config.get("config");
  }

  /** Every path of the file system (no leading slash), in layer order. */
  Map<String, Entry> entries() {
    return entries;
  }

  /** The entry at an absolute path, following symlinks within the image, or null. */
  Entry resolve(String absolutePath) {
    String path = absolutePath.replaceFirst("^/+", "");
    for (int hops = 0; hops < 40; hops++) {
      Entry e = entries.get(path);
      if (e == null || e.type() != Entry.Type.SYMLINK) {
        return e;
      }
      String target = e.linkTarget();
      path = target.startsWith("/")
          ? target.substring(1)
          : Path.of("/" + path).getParent().resolve(target).normalize().toString().substring(1);
    }
    throw new IllegalStateException("symlink loop at " + absolutePath);
  }

  /** The content of a regular file at an absolute path, as the last layer holding it has it. */
  byte[] read(String absolutePath) throws IOException {
    Entry entry = resolve(absolutePath);
    if (entry == null || entry.type() != Entry.Type.FILE) {
      throw new IOException(absolutePath + " is not a file in the image");
    }
    byte[] content = null;
    for (Path layer : layers) {
      try (TarArchiveInputStream tar = layerStream(Files.newInputStream(layer))) {
        for (TarArchiveEntry e; (e = tar.getNextEntry()) != null; ) {
          if (e.isFile() && e.getName().replaceFirst("^\\./", "").equals(entry.path())) {
            content = tar.readAllBytes();
          }
        }
      }
    }
    return content;
  }

  /** Writes the file system under {@code root}, owned by the current user, modes kept. */
  void extractTo(Path root) throws IOException {
    for (Path layer : layers) {
      try (TarArchiveInputStream tar = layerStream(Files.newInputStream(layer))) {
        for (TarArchiveEntry e; (e = tar.getNextEntry()) != null; ) {
          Path target = root.resolve(e.getName()).normalize();
          if (!target.startsWith(root)) {
            throw new IOException("layer entry outside the root: " + e.getName());
          }
          if (e.isDirectory()) {
            Files.createDirectories(target);
          } else {
            Files.createDirectories(target.getParent());
            Files.deleteIfExists(target);
            if (e.isSymbolicLink()) {
              Files.createSymbolicLink(target, Path.of(e.getLinkName()));
              continue;
            } else if (e.isLink()) {
              Files.createLink(target, root.resolve(e.getLinkName()));
              continue;
            }
            Files.copy(tar, target);
          }
          Files.setPosixFilePermissions(target, permissions(e.getMode()));
        }
      }
    }
  }

  private static String readLayer(Path layer, Map<String, Entry> entries) throws IOException {
    MessageDigest sha256;
    try {
      sha256 = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    try (DigestInputStream digest = new DigestInputStream(
        new GZIPInputStream(Files.newInputStream(layer)), sha256);
        TarArchiveInputStream tar = new TarArchiveInputStream(digest)) {
      for (TarArchiveEntry e; (e = tar.getNextEntry()) != null; ) {
        String name = e.getName().replaceFirst("^\\./", "").replaceFirst("/$", "");
        if (name.contains(".wh.")) {
          throw new IOException("whiteout entries are not expected in these images: " + name);
        }
        Entry.Type type = e.isDirectory() ? Entry.Type.DIRECTORY
            : e.isSymbolicLink() ? Entry.Type.SYMLINK
            : e.isLink() ? Entry.Type.HARDLINK
            : Entry.Type.FILE;
        entries.put(name, new Entry(name, type, e.getMode() & 07777, e.getLongUserId(),
            e.getLongGroupId(), e.getLinkName()));
      }
      digest.transferTo(OutputStream.nullOutputStream());
    }
    return "sha256:" + HexFormat.of().formatHex(sha256.digest());
  }

  private static TarArchiveInputStream layerStream(InputStream in) throws IOException {
    return new TarArchiveInputStream(new GZIPInputStream(in));
  }

  private static Set<PosixFilePermission> permissions(int mode) {
    Set<PosixFilePermission> p = EnumSet.noneOf(PosixFilePermission.class);
    PosixFilePermission[] bits = {
        PosixFilePermission.OTHERS_EXECUTE, PosixFilePermission.OTHERS_WRITE,
        PosixFilePermission.OTHERS_READ, PosixFilePermission.GROUP_EXECUTE,
        PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_READ,
        PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.OWNER_WRITE,
        PosixFilePermission.OWNER_READ};
    for (int i = 0; i < bits.length; i++) {
      if ((mode & (1 << i)) != 0) {
        p.add(bits[i]);
      }
    }
    return p;
  }
}
