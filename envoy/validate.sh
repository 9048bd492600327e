#!/usr/bin/env bash
# Validates every Envoy bootstrap in envoy/*.yaml and the Kubernetes egress gateway's
# (deploy/kubernetes/egress-gateway/envoy.yaml) with the pinned Envoy binary (installed on demand
# by install-envoy.sh). Exits non-zero if any file fails.
#
#   envoy/validate.sh            # all of them
#   envoy/validate.sh FILE...    # just these
set -euo pipefail

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
envoy_bin="$("${script_dir}/install-envoy.sh")"

if [[ $# -gt 0 ]]; then
  configs=("$@")
else
  shopt -s nullglob
  configs=("${script_dir}"/*.yaml "${script_dir}"/../deploy/kubernetes/egress-gateway/envoy.yaml)
  shopt -u nullglob
fi
if [[ ${#configs[@]} -eq 0 ]]; then
  echo "validate: no Envoy configs found in ${script_dir}" >&2
  exit 1
fi

failed=0
for config in "${configs[@]}"; do
  # --use-dynamic-base-id: validation may run beside live Envoys (tests, the local stack).
  if output="$("${envoy_bin}" --mode validate --use-dynamic-base-id --log-level warn \
      -c "${config}" 2>&1)"; then
    echo "ok      ${config}"
  else
    echo "FAILED  ${config}"
    printf '%s\n' "${output}" | sed 's/^/        /'
    failed=1
  fi
done
exit "${failed}"
