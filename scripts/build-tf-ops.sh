#!/usr/bin/env bash
# Builds native/lanczos3Resize.cc, the JPEG graph's lanczos3 resize as a TensorFlow op (MlopsLanczos3Resize), into a
# Node addon next to the libtensorflow that scripts/install-native-tf.sh put under tfjs-node
# (node_modules/@tensorflow/tfjs-node/deps/lib/mlops_tf_ops.node). core/ml/tfOps.ts loads it after tfjs-node;
# without it the graphs use TensorFlow's ScaleAndTranslate, which gives the same bytes, slower
# (docs/ARCHITECTURE.md, "The JPEG graph").
# Usage (from the project root, after scripts/install-native-tf.sh): bash scripts/build-tf-ops.sh
# Idempotent: rebuilds only when the source, the flags or the library change.
set -euo pipefail

log() { printf '[build-tf-ops] %s\n' "$*" >&2; }
die() { printf '[build-tf-ops] ERROR: %s\n' "$*" >&2; exit 1; }

ROOT="$(pwd)"
SRC="$ROOT/native/lanczos3Resize.cc"
DEPS="$ROOT/node_modules/@tensorflow/tfjs-node/deps"
OUT="$DEPS/lib/mlops_tf_ops.node"
NODE_INCLUDE="$(dirname "$(dirname "$(command -v node)")")/include/node"

[[ -f "$DEPS/lib/libtensorflow.so.2" ]] || die "no libtensorflow under tfjs-node: run scripts/install-native-tf.sh first"
[[ -f "$NODE_INCLUDE/node_api.h" ]] || die "no node_api.h in $NODE_INCLUDE (apt-get install libnode-dev, or a Node with its headers)"
command -v c++ >/dev/null || die "no C++ compiler (apt-get install build-essential)"

# No FMA: every multiply and add rounds as TensorFlow's own kernel does (its pip build uses none there).
FLAGS=(-std=c++17 -O3 -fPIC -shared -ffp-contract=off -fvisibility=hidden -Wall -Werror)
STAMP="$( (cat "$SRC"; echo "${FLAGS[*]}"; c++ -dumpfullversion; stat -c %s "$DEPS/lib/libtensorflow.so.2") | sha256sum | cut -c1-16)"
if [[ -f "$OUT" && "$(cat "$OUT.stamp" 2>/dev/null)" == "$STAMP" ]]; then
  log "up to date: $OUT"
  exit 0
fi
c++ "${FLAGS[@]}" -I"$NODE_INCLUDE" -I"$DEPS/include" "$SRC" -o "$OUT.tmp" \
  -L"$DEPS/lib" -l:libtensorflow_framework.so.2 -l:libtensorflow.so.2 -Wl,-rpath,'$ORIGIN'
mv "$OUT.tmp" "$OUT"
echo "$STAMP" > "$OUT.stamp"
log "built $OUT"
