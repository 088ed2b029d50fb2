#!/usr/bin/env bash
# Installs everything the project needs, idempotently: npm packages, the temporal CLI,
# the console's bundle, Debian's Chromium (for browser tests), the validator of deploy/k8s, and native TensorFlow for tfjs-node (built from PyPI's wheel; pure JS if that fails) and the project's native code (scripts/build-native.sh: the image characteristics, and a TensorFlow op).
set -euo pipefail
cd "$(dirname "$0")/.."

node -e 'const [a,b]=process.versions.node.split(".").map(Number); if (a<20||(a===20&&b<19)) { console.error("Node >= 20.19 is required, found "+process.versions.node); process.exit(1) }'

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "[setup] npm ci"
  npm ci --no-audit --no-fund
fi
echo "[setup] temporal CLI"
bash scripts/install-temporal.sh >/dev/null
echo "[setup] native TensorFlow"
if ! bash scripts/install-native-tf.sh; then
  echo "[setup] WARNING: native TensorFlow could not be built; training falls back to pure JS (much slower)." >&2
fi
echo "[setup] the project's native code"
if ! bash scripts/build-native.sh; then
  echo "[setup] WARNING: native/ could not be built; the characteristics run in TypeScript and the JPEG graphs resize with ScaleAndTranslate (same values, slower)." >&2
fi
echo "[setup] Chromium for the console's browser tests"
if ! bash scripts/install-chromium.sh >/dev/null; then
  echo "[setup] WARNING: Chromium could not be installed; the console's browser tests will fail." >&2
fi
echo "[setup] Kubernetes manifest validator (kustomize, kubeconform, schemas)"
bash scripts/install-k8s-validator.sh
echo "[setup] console"
npx tsx scripts/buildConsole.ts --if-stale
echo "[setup] done"
