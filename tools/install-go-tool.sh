#!/usr/bin/env bash
# Installs a pinned Go tool into <repo>/.tools/bin through the Go module proxy and prints its
# path. Idempotent: an installed tool of the same version is reused.
#   tools/install-go-tool.sh grpcurl
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin_dir="$root/.tools/bin"

case "${1:-}" in
  grpcurl) module="github.com/fullstorydev/grpcurl/cmd/grpcurl"; version="v1.9.3" ;;
  *) echo "usage: $0 grpcurl" >&2; exit 2 ;;
esac
name="$1"
stamp="$bin_dir/.$name.version"

if [ -x "$bin_dir/$name" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$version" ]; then
  echo "$bin_dir/$name"
  exit 0
fi
if ! command -v go >/dev/null 2>&1; then
  echo "install-go-tool: go is not on PATH; cannot install $name" >&2
  exit 1
fi
mkdir -p "$bin_dir"
echo "install-go-tool: installing $module@$version" >&2
GOBIN="$bin_dir" GOFLAGS=-mod=mod go install "$module@$version" >&2
echo "$version" > "$stamp"
echo "$bin_dir/$name"
