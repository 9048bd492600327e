package io.perishable.token;

import com.google.protobuf.InvalidProtocolBufferException;
import io.perishable.proto.v1.TokenClaims;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Base64;

/**
 * Encodes signed tokens and decodes them back into claim bytes, signature and claims.
 *
 * <p>Decoding checks only the format; the caller verifies the signature with {@link
 * TokenSignatures#verify} before trusting any claim. The format check is strict: the prefix,
 * exactly one {@code '.'}, unpadded base64url whose re-encoding is identical to the input (so
 * no two strings decode to the same token), a 64-byte signature and claims that parse.
 */
public final class TokenCodec {
  private static final Base64.Encoder ENCODER = Base64.getUrlEncoder().withoutPadding();
  private static final Base64.Decoder DECODER = Base64.getUrlDecoder();

  private TokenCodec() {}

  /** Signs {@code claims} with {@code key} and returns the token string. */
  public static String encode(TokenClaims claims, SigningKey key) {
    if (!claims.getKeyId().equals(key.keyId())) {
      throw new IllegalArgumentException(
          "claims name key " + claims.getKeyId() + " but are signed with " + key.keyId());
    }
    byte[] claimBytes = claims.toByteArray();
    byte[] signature = key.sign(claimBytes);
    return TokenFormat.PREFIX + ENCODER.encodeToString(claimBytes) + "."
        + ENCODER.encodeToString(signature);
  }

  /** Parses a token string, or says precisely why it is not one. */
  public static DecodedToken decode(String token) {
    if (token == null) {
      throw new MalformedTokenException("no token");
    }
    if (token.length() > TokenFormat.MAX_TOKEN_CHARS) {
      throw new MalformedTokenException("token is longer than " + TokenFormat.MAX_TOKEN_CHARS
          + " characters");
    }
    if (!token.startsWith(TokenFormat.PREFIX)) {
      throw new MalformedTokenException("token does not start with " + TokenFormat.PREFIX);
    }
    int dot = token.indexOf('.', TokenFormat.PREFIX.length());
    if (dot < 0 || token.indexOf('.', dot + 1) >= 0) {
      throw new MalformedTokenException("token must have exactly one '.'");
    }
    String claimPart = token.substring(TokenFormat.PREFIX.length(), dot);
    String signaturePart = token.substring(dot + 1);
    byte[] claimBytes = strictBase64Url(claimPart, "claims");
    byte[] signature = strictBase64Url(signaturePart, "signature");
    if (signature.length != TokenFormat.SIGNATURE_BYTES) {
      throw new MalformedTokenException("signature must be " + TokenFormat.SIGNATURE_BYTES
          + " bytes, got " + signature.length);
    }
    TokenClaims claims;
    try {
      claims = TokenClaims.parseFrom(claimBytes);
    } catch (InvalidProtocolBufferException e) {
      throw new MalformedTokenException("claims are not a valid TokenClaims message");
    }
    if (claims.getTokenId().isEmpty() || claims.getKeyId().isEmpty()) {
      throw new MalformedTokenException("claims lack a token id or key id");
    }
    return new DecodedToken(claimBytes, signature, claims);
  }

  private static byte[] strictBase64Url(String part, String what) {
    if (part.isEmpty()) {
      throw new MalformedTokenException(what + " part is empty");
    }
    for (int i = 0; i < part.length(); i++) {
      char c = part.charAt(i);
      boolean ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
          || c == '-' || c == '_';
      if (!ok) {
        throw new MalformedTokenException(what + " part is not unpadded base64url");
      }
    }
    byte[] bytes;
    try {
      bytes = DECODER.decode(part);
    } catch (IllegalArgumentException e) {
      throw new MalformedTokenException(what + " part is not valid base64url");
    }
    // Unused trailing bits must be zero: otherwise several strings decode to the same bytes.
    byte[] reencoded = ENCODER.encode(bytes);
    if (!Arrays.equals(reencoded, part.getBytes(StandardCharsets.US_ASCII))) {
      throw new MalformedTokenException(what + " part is not canonical base64url");
    }
    return bytes;
  }
}
