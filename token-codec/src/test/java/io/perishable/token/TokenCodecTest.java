package io.perishable.token;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.perishable.proto.v1.TokenClaims;
import java.util.Base64;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class TokenCodecTest {
  private static final SigningKey KEY = SigningKey.generate(1_000);
  private static final SigningKey OTHER_KEY = SigningKey.generate(1_000);

  private static TokenClaims claims(SigningKey key) {
    return TokenClaims.newBuilder()
        .setTokenId(TokenIds.random())
        .setKeyId(key.keyId())
        .setIssuedAtMs(1_000)
        .setExpiresAtMs(61_000)
        .setAgentId("agent-7")
        .addScopes("llm:complete")
        .addModels("gpt-4o-mini")
        .setMaxTokensPerRequest(256)
        .setUpstream("openai")
        .build();
  }

  @Test
  void encodeThenDecode_roundTripsClaimsAndVerifies() {
    TokenClaims claims = claims(KEY);
    String token = TokenCodec.encode(claims, KEY);

    DecodedToken decoded = TokenCodec.decode(token);

    assertTrue(token.startsWith("prs_"));
    assertEquals(claims, decoded.claims());
    assertTrue(decoded.verifiedBy(KEY.publicKey()));
    assertFalse(decoded.verifiedBy(OTHER_KEY.publicKey()));
  }

  @Test
  void decode_claimsAlteredAfterSigning_failVerification() {
    String token = TokenCodec.encode(claims(KEY), KEY);
    DecodedToken decoded = TokenCodec.decode(token);
    TokenClaims widened = decoded.claims().toBuilder().clearModels().build();
    String forged = "prs_"
        + Base64.getUrlEncoder().withoutPadding().encodeToString(widened.toByteArray()) + "."
        + token.substring(token.indexOf('.') + 1);

    assertFalse(TokenCodec.decode(forged).verifiedBy(KEY.publicKey()));
  }

  @Test
  void decode_signatureFromAnotherKeyOverSameKeyId_failsVerification() {
    // An attacker with their own key signs claims that name our key id.
    TokenClaims claims = claims(KEY);
    byte[] bytes = claims.toByteArray();
    byte[] signature = OTHER_KEY.sign(bytes);
    Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
    String forged = "prs_" + b64.encodeToString(bytes) + "." + b64.encodeToString(signature);

    assertFalse(TokenCodec.decode(forged).verifiedBy(KEY.publicKey()));
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "", "prs_", "prs_.", "sk-abc", "Bearer prs_x.y", "prs_abc", "prs_a.b.c", "prs_a=.b",
      "prs_YWJj.YWJj", "prs_!!!.YWJj"})
  void decode_garbage_isMalformed(String garbage) {
    assertThrows(MalformedTokenException.class, () -> TokenCodec.decode(garbage));
  }

  @Test
  void decode_padded_isMalformed() {
    String token = TokenCodec.encode(claims(KEY), KEY);
    String padded = token + "==";
    assertThrows(MalformedTokenException.class, () -> TokenCodec.decode(padded));
  }

  @Test
  void decode_nonCanonicalTrailingBits_isMalformed() {
    String token = TokenCodec.encode(claims(KEY), KEY);
    // An Ed25519 signature is 64 bytes: 86 base64 characters whose last carries 4 unused bits.
    char last = token.charAt(token.length() - 1);
    String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char twin = alphabet.charAt(alphabet.indexOf(last) ^ 1);
    String reencoded = token.substring(0, token.length() - 1) + twin;

    assertArrayEquals(
        Base64.getUrlDecoder().decode(token.substring(token.indexOf('.') + 1)),
        Base64.getUrlDecoder().decode(reencoded.substring(reencoded.indexOf('.') + 1)));
    assertThrows(MalformedTokenException.class, () -> TokenCodec.decode(reencoded));
  }

  @Test
  void decode_truncated_isMalformedOrFailsVerification() {
    String token = TokenCodec.encode(claims(KEY), KEY);
    for (int cut = 1; cut < 12; cut++) {
      String truncated = token.substring(0, token.length() - cut);
      try {
        assertFalse(TokenCodec.decode(truncated).verifiedBy(KEY.publicKey()));
      } catch (MalformedTokenException expected) {
        // also fine
      }
    }
  }

  @Test
  void decode_overlong_isMalformedWithoutEchoingToken() {
    String huge = "prs_" + "A".repeat(5000) + ".AAAA";
    MalformedTokenException e =
        assertThrows(MalformedTokenException.class, () -> TokenCodec.decode(huge));
    assertFalse(e.getMessage().contains("AAAA"));
  }

  @Test
  void signingKey_pkcs8RoundTrip_keepsKeyIdAndSigns() {
    SigningKey restored = SigningKey.fromPkcs8(KEY.pkcs8(), KEY.rawPublicKey(), 1_000);
    String token = TokenCodec.encode(claims(restored), restored);

    assertEquals(KEY.keyId(), restored.keyId());
    assertTrue(TokenCodec.decode(token).verifiedBy(KEY.publicKey()));
    assertEquals("SigningKey[" + KEY.keyId() + "]", restored.toString());
  }

  @Test
  void signingKey_mismatchedHalves_refused() {
    assertThrows(IllegalArgumentException.class,
        () -> SigningKey.fromPkcs8(KEY.pkcs8(), OTHER_KEY.rawPublicKey(), 1_000));
  }

  @Test
  void publicKeys_rawRoundTripAndKeyIdIsStable() {
    byte[] raw = KEY.rawPublicKey();
    assertEquals(32, raw.length);
    assertArrayEquals(raw, Ed25519PublicKeys.toRaw(Ed25519PublicKeys.fromRaw(raw)));
    assertEquals(KEY.keyId(), Ed25519PublicKeys.keyId(raw));
    assertEquals(16, KEY.keyId().length());
  }

  @Test
  void tokenIds_neverStartWithADash() {
    // About 1 in 32 raw base64url strings starts with '-' or '_'; 2,000 draws would see ~60.
    for (int i = 0; i < 2_000; i++) {
      char first = TokenIds.random().charAt(0);
      assertTrue(Character.isLetterOrDigit(first), "id starts with " + first);
    }
  }

  @Test
  void tokenIds_are22Base64UrlCharsAndDistinct() {
    String a = TokenIds.random();
    String b = TokenIds.random();
    assertEquals(22, a.length());
    assertTrue(a.matches("[A-Za-z0-9_-]{22}"));
    assertFalse(a.equals(b));
  }
}
