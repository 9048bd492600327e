#!/usr/bin/env bash
# Installs a pinned Go tool into <repo>/.tools/bin through the Go module proxy and prints its
# path. Idempotent: an installed tool of the same version is reused.
#   tools/install-go-tool.sh grpcurl | kubeconform | kustomize
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin_dir="$root/.tools/bin"

case "${1:-}" in
  grpcurl) module="github.com/fullstorydev/grpcurl/cmd/grpcurl"; version="v1.9.3" ;;
  # Validates Kubernetes manifests against JSON schemas (deploy/kubernetes).
  kubeconform) module="github.com/yannh/kubeconform/cmd/kubeconform"; version="v0.8.0" ;;
  # Renders the Kustomize bases and overlays in deploy/ exactly as `kubectl apply -k` would.
  kustomize) module="sigs.k8s.io/kustomize/kustomize/v5"; version="v5.8.1" ;;
  *) echo "usage: $0 grpcurl|kubeconform|kustomize" >&2; exit 2 ;;
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
# One installer per tool at a time (parallel test JVMs may ask at once on a fresh checkout);
# whoever waited re-checks, since the first one may have finished the job.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$bin_dir/.$name.lock"
  flock 9
  if [ -x "$bin_dir/$name" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$version" ]; then
    echo "$bin_dir/$name"
    exit 0
  fi
fi
echo "install-go-tool: installing $module@$version" >&2
GOBIN="$bin_dir" GOFLAGS=-mod=mod go install "$module@$version" >&2
echo "$version" > "$stamp"
echo "$bin_dir/$name"
