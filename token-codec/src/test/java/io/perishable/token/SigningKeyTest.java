package io.perishable.token;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.KeyFactory;
import java.security.Signature;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class SigningKeyTest {
  /** The JDK's Ed25519 signer over {@code domain || message}: what tokens were signed with. */
  private static byte[] jdkSignature(SigningKey key, byte[] message) throws Exception {
    Signature signer = Signature.getInstance("Ed25519");
    signer.initSign(KeyFactory.getInstance("Ed25519")
        .generatePrivate(new PKCS8EncodedKeySpec(key.pkcs8())));
    signer.update(TokenFormat.SIGNATURE_DOMAIN);
    signer.update(message);
    return signer.sign();
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 1, 63, 64, 180, 1000})
  void sign_sameBytesAsTheJdkSigner_andVerifies(int length) throws Exception {
    Random random = new Random(length);
    for (int k = 0; k < 4; k++) {
      SigningKey key = SigningKey.generate(1_000);
      byte[] message = new byte[length];
      random.nextBytes(message);

      byte[] signature = key.sign(message);

      assertEquals(TokenFormat.SIGNATURE_BYTES, signature.length);
      assertArrayEquals(jdkSignature(key, message), signature);
      assertTrue(TokenSignatures.verify(key.publicKey(), message, signature));
    }
  }

  @Test
  void fromPkcs8_restoredKey_signsAsTheOriginal() {
    SigningKey key = SigningKey.generate(1_000);
    SigningKey restored = SigningKey.fromPkcs8(key.pkcs8(), key.rawPublicKey(), 1_000);
    byte[] message = {4, 5, 6};

    assertEquals(key.keyId(), restored.keyId());
    assertArrayEquals(key.sign(message), restored.sign(message));
  }

  @Test
  void fromPkcs8_publicKeyOfAnotherKey_isRefused() {
    SigningKey key = SigningKey.generate(1_000);
    SigningKey other = SigningKey.generate(1_000);

    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> SigningKey.fromPkcs8(key.pkcs8(), other.rawPublicKey(), 1_000));
    assertEquals("private and public key do not belong together", e.getMessage());
  }
}
