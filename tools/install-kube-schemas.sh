#!/usr/bin/env bash
# Prints a kubeconform -schema-location template for the Kubernetes JSON schemas shipped inside
# PyPI's kubernetes-validate package (strict variant: unknown fields are errors), installing it
# into <repo>/.tools/kube-schemas-venv if needed. kubeconform would otherwise fetch schemas from
# the network at run time; this keeps validation offline and pinned. Progress goes to stderr,
# the template (last line) to stdout:
#   kubeconform -strict -kubernetes-version 1.37.0 -schema-location "$(tools/install-kube-schemas.sh)" FILE
#
# The packaged schemas name their shared definitions by an absolute URI ("$id":
# "https://kubernetes.io/api/...", "$ref": "/api/_definitions.json#/$defs/..."), which
# kubeconform would try to download. A copy in <repo>/.tools/kube-schemas/ drops "$id" and
# points every such "$ref" at the _definitions.json beside it; nothing else changes.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
version="1.37.0"
kube_version="v1.37.0"
venv="$root/.tools/kube-schemas-venv"
out="$root/.tools/kube-schemas"
stamp="$out/.version"

# The folder holding one sub-folder of schemas per Kubernetes version, or nothing.
schema_root() {
  [ -x "$venv/bin/python" ] || return 0
  "$venv/bin/python" -c \
    'import kubernetes_validate, os; print(os.path.join(os.path.dirname(kubernetes_validate.__file__), "kubernetes-json-schema"))' \
    2>/dev/null || true
}

installed() {
  [ -f "$out/$kube_version-local-strict/_definitions.json" ] \
    && [ "$(cat "$stamp" 2>/dev/null)" = "$version" ]
}

if ! installed; then
  mkdir -p "$root/.tools"
  exec 9>"$root/.tools/kube-schemas-install.lock"
  flock 9
  if ! installed; then
    echo "install-kube-schemas: installing kubernetes-validate==$version into $venv" >&2
    rm -rf "$venv"
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check \
      "kubernetes-validate==$version" >&2
    dir="$(schema_root)/$kube_version-local-strict"
    if [ ! -d "$dir" ]; then
      echo "install-kube-schemas: no folder '$dir' in kubernetes-validate $version" >&2
      exit 1
    fi
    rm -rf "$out"
    "$venv/bin/python" - "$dir" "$out/$kube_version-local-strict" <<'PY'
import json, pathlib, sys
source, target = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
prefix = "/api/_definitions.json#"
def fix(node):
    if isinstance(node, dict):
        return {k: (v.replace(prefix, "_definitions.json#", 1)
                    if k == "$ref" and isinstance(v, str) else fix(v))
                for k, v in node.items()}
    if isinstance(node, list):
        return [fix(v) for v in node]
    return node
target.mkdir(parents=True)
count = 0
for file in sorted(source.glob("*.json")):
    schema = json.loads(file.read_text())
    schema.pop("$id", None)
    (target / file.name).write_text(json.dumps(fix(schema)))
    count += 1
print(f"install-kube-schemas: {count} schemas in {target}", file=sys.stderr)
PY
    echo "$version" > "$stamp"
  fi
fi
echo "$out/{{ .NormalizedKubernetesVersion }}-local-strict/{{ .ResourceKind }}{{ .KindSuffix }}.json"
