#!/usr/bin/env bash
# Prints the path of the services' base image (a `docker save`-format tarball) on stdout,
# building it into <repo>/.tools/images/ if needed. Progress goes to stderr.
#
# No registry is involved: the image is assembled from the Debian packages listed in
# images/base-packages.txt (downloaded with `apt-get download`, unpacked with `dpkg-deb -x`,
# no maintainer scripts run, nothing installed on this machine) by images/docker_save.py.
# The JRE's trust store is built from the ca-certificates package by the build's own keytool.
# The file name carries a digest of the package versions and of these scripts, so a Debian
# security update or a change here builds a new base; an unchanged one is reused.
set -euo pipefail

log() { printf 'base-image: %s\n' "$*" >&2; }

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
root="$(cd "$here/.." && pwd -P)"
out_dir="$root/.tools/images"
packages=()
while read -r line; do
  line="${line%%#*}"
  [[ -n "${line// }" ]] && packages+=("${line// }")
done < "$here/base-packages.txt"

for tool in apt-get apt-cache dpkg-deb python3 keytool; do
  command -v "$tool" >/dev/null 2>&1 || { log "needs $tool on PATH"; exit 1; }
done

# name=version for every package, as apt would download it now.
resolve() {
  local p v
  for p in "${packages[@]}"; do
    v="$(apt-cache policy "$p" 2>/dev/null | awk '/Candidate:/ {print $2}')"
    [[ -n "$v" && "$v" != "(none)" ]] || return 1
    printf '%s=%s\n' "$p" "$v"
  done
}
if ! pinned="$(resolve)"; then
  log "refreshing package lists (apt-get update)"
  apt-get update -qq >&2 || { log "apt-get update failed; run it as root once"; exit 1; }
  pinned="$(resolve)" || { log "a package in base-packages.txt is unknown to apt"; exit 1; }
fi
key="$( { printf '%s\n' "$pinned"; cat "$here/base-image.sh" "$here/docker_save.py"; } \
  | sha256sum | cut -c1-16)"
tarball="$out_dir/perishable-base-$key.tar"
if [[ -s "$tarball" ]]; then
  printf '%s\n' "$tarball"
  exit 0
fi

mkdir -p "$out_dir"
exec 9>"$out_dir/.lock"
flock 9
if [[ -s "$tarball" ]]; then
  printf '%s\n' "$tarball"
  exit 0
fi

work="$(mktemp -d "$out_dir/build.XXXXXX")"
trap 'rm -rf "$work"' EXIT
log "downloading $(printf '%s ' $pinned)"
(cd "$work" && apt-get download $pinned >/dev/null 2>"$work/apt.err") \
  || { cat "$work/apt.err" >&2; log "apt-get download failed"; exit 1; }

rootfs="$work/rootfs"
mkdir -p "$rootfs"
for deb in "$work"/*.deb; do
  dpkg-deb -x "$deb" "$rootfs"
done
# Documentation, manuals and lintian overrides are not needed at run time.
rm -rf "$rootfs/usr/share/doc" "$rootfs/usr/share/man" "$rootfs/usr/share/lintian" \
  "$rootfs/usr/share/locale" "$rootfs/usr/share/info"

jre="usr/lib/jvm/java-17-openjdk-amd64"
[[ -x "$rootfs/$jre/bin/java" ]] || { log "no $jre/bin/java in the packages"; exit 1; }
mkdir -p "$rootfs/usr/bin"
ln -s "/$jre/bin/java" "$rootfs/usr/bin/java"

# The JRE's cacerts is a link to /etc/ssl/certs/java/cacerts, which Debian's
# ca-certificates-java would generate at install time: build it from the same certificates.
mkdir -p "$rootfs/etc/ssl/certs/java"
# One keytool JVM per certificate would take minutes; a small Java program does it in one.
cat > "$work/TrustStore.java" <<'JAVA'
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/** Writes a PKCS12 trust store of every .crt in a directory, aliases from the file names. */
public class TrustStore {
  public static void main(String[] args) throws Exception {
    KeyStore ks = KeyStore.getInstance("PKCS12");
    ks.load(null, null);
    CertificateFactory cf = CertificateFactory.getInstance("X.509");
    List<Path> certs;
    try (Stream<Path> s = Files.list(Path.of(args[1]))) {
      certs = s.filter(p -> p.toString().endsWith(".crt")).sorted().collect(Collectors.toList());
    }
    for (Path p : certs) {
      try (InputStream in = Files.newInputStream(p)) {
        String alias = p.getFileName().toString().replaceAll("\\.crt$", "").toLowerCase();
        ks.setCertificateEntry(alias, (X509Certificate) cf.generateCertificate(in));
      }
    }
    try (OutputStream out = Files.newOutputStream(Path.of(args[0]))) {
      ks.store(out, "changeit".toCharArray());
    }
    System.err.println("base-image: trust store with " + certs.size() + " certificates");
  }
}
JAVA
# No MAC and no encryption of the certificates (both would add random salts): a trust store
# holds only public certificates, and the same certificates give the same bytes.
java -Dkeystore.pkcs12.certProtectionAlgorithm=NONE -Dkeystore.pkcs12.macAlgorithm=NONE \
  "$work/TrustStore.java" "$rootfs/etc/ssl/certs/java/cacerts" \
  "$rootfs/usr/share/ca-certificates/mozilla" >&2

# What a distroless base provides: the non-root user, name resolution config, a /tmp; and
# the services' data directory, owned by that user.
mkdir -p "$rootfs/etc" "$rootfs/tmp" "$rootfs/home/nonroot" "$rootfs/var/lib/perishable"
cat > "$rootfs/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
PASSWD
cat > "$rootfs/etc/group" <<'GROUP'
root:x:0:
nobody:x:65534:
nonroot:x:65532:
GROUP
printf 'hosts: files dns\n' > "$rootfs/etc/nsswitch.conf"

python3 "$here/docker_save.py" --rootfs "$rootfs" --out "$work/image.tar" \
  --packages "$(printf '%s ' $pinned)" >&2
mv "$work/image.tar" "$tarball"
# Older bases (previous package versions) are no longer referenced.
find "$out_dir" -maxdepth 1 -name 'perishable-base-*.tar' ! -path "$tarball" -delete
log "built $tarball ($(du -h "$tarball" | cut -f1))"
printf '%s\n' "$tarball"
