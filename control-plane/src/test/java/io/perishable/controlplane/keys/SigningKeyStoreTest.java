package io.perishable.controlplane.keys;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SigningKeyStoreTest {
  @TempDir
  Path dataDir;

  private List<Path> keyFiles() throws Exception {
    try (Stream<Path> files = Files.list(dataDir.resolve("keys"))) {
      return files.toList();
    }
  }

  @Test
  void open_firstStart_generatesOwnerOnlyKey() throws Exception {
    SigningKeyStore store = SigningKeyStore.open(dataDir, Clock.systemUTC());

    List<Path> files = keyFiles();
    assertEquals(1, files.size());
    assertEquals("signing-" + store.current().keyId() + ".key",
        files.get(0).getFileName().toString());
    assertEquals("rw-------",
        PosixFilePermissions.toString(Files.getPosixFilePermissions(files.get(0))));
    assertEquals("rwx------", PosixFilePermissions.toString(
        Files.getPosixFilePermissions(dataDir.resolve("keys"))));
  }

  @Test
  void open_secondStart_reusesTheSameKey() {
    String first = SigningKeyStore.open(dataDir, Clock.systemUTC()).current().keyId();
    String second = SigningKeyStore.open(dataDir, Clock.systemUTC()).current().keyId();
    assertEquals(first, second);
  }

  @Test
  void open_keyReadableByOthers_refusesToStart() throws Exception {
    SigningKeyStore.open(dataDir, Clock.systemUTC());
    Path file = keyFiles().get(0);
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));

    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> SigningKeyStore.open(dataDir, Clock.systemUTC()));
    assertTrue(e.getMessage().contains("must be readable by its owner only"), e.getMessage());
  }

  @Test
  void open_damagedKeyFile_refusesToStartNamingTheFile() throws Exception {
    SigningKeyStore.open(dataDir, Clock.systemUTC());
    Path file = keyFiles().get(0);
    Files.writeString(file, "key_id=abc\npublic=AAAA\nprivate_pkcs8=AAAA\n");

    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> SigningKeyStore.open(dataDir, Clock.systemUTC()));
    assertTrue(e.getMessage().startsWith("signing key " + file + " is damaged"),
        e.getMessage());
  }
}
