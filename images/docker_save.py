#!/usr/bin/env python3
"""Writes a directory tree as a one-layer image in `docker save` format.

The output is what Jib reads as a `tar://` base image: manifest.json, the image config
(rootfs diff_ids, the non-root user, PATH and JAVA_HOME) and one gzipped layer. It is
byte-for-byte reproducible: entries sorted by name, every time stamp 0, owner root (but
the non-root user's home and
/var/lib/perishable, owned by uid 65532), gzip without a file name or time.
"""
import argparse
import gzip
import hashlib
import io
import json
import os
import stat
import tarfile

NONROOT = 65532
# Directories the non-root user owns: its home, and where the services keep data.
NONROOT_DIRS = {"home/nonroot", "var/lib/perishable"}
JRE = "/usr/lib/jvm/java-17-openjdk-amd64"


def layer_bytes(rootfs):
    buf = io.BytesIO()
    seen = {}
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        paths = []
        for dirpath, dirnames, filenames in os.walk(rootfs):
            for name in dirnames + filenames:
                paths.append(os.path.join(dirpath, name))
        for path in sorted(paths, key=lambda p: os.path.relpath(p, rootfs)):
            rel = os.path.relpath(path, rootfs)
            st = os.lstat(path)
            info = tarfile.TarInfo(rel)
            info.mtime = 0
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mode = stat.S_IMODE(st.st_mode)
            owned = rel in NONROOT_DIRS
            if owned:
                info.uid = info.gid = NONROOT
            if stat.S_ISLNK(st.st_mode):
                info.type = tarfile.SYMTYPE
                info.linkname = os.readlink(path)
                tar.addfile(info)
            elif stat.S_ISDIR(st.st_mode):
                info.type = tarfile.DIRTYPE
                info.mode = 0o1777 if rel == "tmp" else (0o700 if owned else 0o755)
                tar.addfile(info)
            elif stat.S_ISREG(st.st_mode):
                ident = (st.st_dev, st.st_ino)
                if st.st_nlink > 1 and ident in seen:
                    info.type = tarfile.LNKTYPE
                    info.linkname = seen[ident]
                    tar.addfile(info)
                    continue
                seen[ident] = rel
                info.size = st.st_size
                with open(path, "rb") as f:
                    tar.addfile(info, f)
            else:
                raise SystemExit(f"docker_save: unsupported file type: {rel}")
    return buf.getvalue()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rootfs", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--packages", required=True, help="name=version list, for a label")
    args = ap.parse_args()

    layer = layer_bytes(args.rootfs)
    diff_id = "sha256:" + hashlib.sha256(layer).hexdigest()
    gz = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=gz, mtime=0) as z:
        z.write(layer)
    config = {
        "architecture": "amd64",
        "os": "linux",
        "created": "1970-01-01T00:00:00Z",
        "config": {
            "Env": [
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "JAVA_HOME=" + JRE,
            ],
            "User": f"{NONROOT}:{NONROOT}",
            "WorkingDir": "/home/nonroot",
            "Labels": {"io.perishable.base.packages": " ".join(args.packages.split())},
        },
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": "1970-01-01T00:00:00Z",
                     "created_by": "images/base-image.sh: " + " ".join(args.packages.split())}],
    }
    config_bytes = json.dumps(config, sort_keys=True, separators=(",", ":")).encode()
    config_name = hashlib.sha256(config_bytes).hexdigest() + ".json"
    layer_name = diff_id[len("sha256:"):] + "/layer.tar.gz"
    manifest = [{"Config": config_name, "RepoTags": ["perishable/base:local"],
                 "Layers": [layer_name]}]
    members = [
        ("manifest.json", json.dumps(manifest, separators=(",", ":")).encode()),
        (config_name, config_bytes),
        (layer_name, gz.getvalue()),
    ]
    with tarfile.open(args.out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    print(f"docker_save: layer {diff_id} ({len(layer)} bytes, "
          f"{len(gz.getvalue())} gzipped)")


if __name__ == "__main__":
    main()
