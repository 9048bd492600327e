package io.perishable.cli;

import io.perishable.controlplane.issuer.IssuerAuthenticator;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HexFormat;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code perishable issuer-secret}: makes a new issuer secret and the hash config needs. */
@Command(name = "issuer-secret", mixinStandardHelpOptions = true,
    description = {"Generate a random issuer secret (256 bits).",
        "Prints the secret (give it to the issuer) and its secret_sha256 (put it in the "
            + "control plane's config)."})
final class IssuerSecretCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Override
  public Integer call() {
    String secret = newSecret();
    spec.commandLine().getOut().println("secret:        " + secret);
    spec.commandLine().getOut().println("secret_sha256: "
        + HexFormat.of().formatHex(IssuerAuthenticator.sha256(secret)));
    return ExitCodes.OK;
  }

  static String newSecret() {
    byte[] bytes = new byte[32];
    new SecureRandom().nextBytes(bytes);
    return "pis_" + Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
  }
}
