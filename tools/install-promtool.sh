#!/usr/bin/env bash
# Prints the path of a promtool, installing one into <repo>/.tools/bin if needed: Debian's
# "prometheus" package is downloaded and only its promtool binary extracted (nothing is
# installed system-wide, no service is set up).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin_dir="$root/.tools/bin"

if [ -x "$bin_dir/promtool" ]; then
  echo "$bin_dir/promtool"
  exit 0
fi
if command -v promtool >/dev/null 2>&1; then
  command -v promtool
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-promtool: no apt-get here; install promtool yourself" >&2
  exit 1
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
if ! apt-get download prometheus >/dev/null 2>&1; then
  echo "install-promtool: refreshing package lists" >&2
  apt-get update -qq >&2
  apt-get download prometheus >&2
fi
dpkg -x prometheus_*.deb extracted
mkdir -p "$bin_dir"
cp extracted/usr/bin/promtool "$bin_dir/promtool"
echo "install-promtool: $("$bin_dir/promtool" --version 2>&1 | head -1)" >&2
echo "$bin_dir/promtool"
