#!/usr/bin/env bash
# Builds the project's native code (native/) into Node addons:
# - native/imageCharacteristics.cc, the image characteristics as the analysis threads compute them, into
#   native/build/mlops_features.node (core/features/nativeCharacteristics.ts loads it; without it the TypeScript of
#   core/features/imageCharacteristics.ts computes the same values, slower);
# - native/lanczos3Resize.cc, the JPEG graph's lanczos3 resize as a TensorFlow op (MlopsLanczos3Resize), next to the
#   libtensorflow that scripts/install-native-tf.sh put under tfjs-node
#   (node_modules/@tensorflow/tfjs-node/deps/lib/mlops_tf_ops.node; core/ml/tfOps.ts loads it; without it the graphs
#   use TensorFlow's ScaleAndTranslate, which gives the same bytes, slower). Skipped without native TensorFlow.
# docs/ARCHITECTURE.md ("The JPEG graph"; "Frame analysis", step 5) says why each exists.
# Usage (from the project root, after scripts/install-native-tf.sh): bash scripts/build-native.sh
# Idempotent: rebuilds an addon only when its source, the flags, the compiler or the library change.
set -euo pipefail

log() { printf '[build-native] %s\n' "$*" >&2; }
die() { printf '[build-native] ERROR: %s\n' "$*" >&2; exit 1; }

ROOT="$(pwd)"
DEPS="$ROOT/node_modules/@tensorflow/tfjs-node/deps"
NODE_INCLUDE="$(dirname "$(dirname "$(command -v node)")")/include/node"

[[ -f "$NODE_INCLUDE/node_api.h" ]] || die "no node_api.h in $NODE_INCLUDE (apt-get install libnode-dev, or a Node with its headers)"
command -v c++ >/dev/null || die "no C++ compiler (apt-get install build-essential)"

# No FMA: every multiply and add rounds as the code it must equal does (TensorFlow's kernel, V8's doubles).
FLAGS=(-std=c++17 -O3 -fPIC -shared -ffp-contract=off -fvisibility=hidden -Wall -Werror)

# build <source> <output> <stamp extra> <compiler arguments after the source...>
build() {
  local src="$1" out="$2" extra="$3"
  shift 3
  local stamp
  stamp="$( (cat "$src"; echo "${FLAGS[*]} $*"; c++ -dumpfullversion; echo "$extra") | sha256sum | cut -c1-16)"
  if [[ -f "$out" && "$(cat "$out.stamp" 2>/dev/null)" == "$stamp" ]]; then
    log "up to date: $out"
    return 0
  fi
  mkdir -p "$(dirname "$out")"
  c++ "${FLAGS[@]}" -I"$NODE_INCLUDE" "$src" -o "$out.tmp" "$@"
  mv "$out.tmp" "$out"
  echo "$stamp" > "$out.stamp"
  log "built $out"
}

build native/imageCharacteristics.cc native/build/mlops_features.node ""

if [[ -f "$DEPS/lib/libtensorflow.so.2" ]]; then
  build native/lanczos3Resize.cc "$DEPS/lib/mlops_tf_ops.node" "$(stat -c %s "$DEPS/lib/libtensorflow.so.2")" \
    -I"$DEPS/include" -L"$DEPS/lib" -l:libtensorflow_framework.so.2 -l:libtensorflow.so.2 -Wl,-rpath,'$ORIGIN'
else
  log "no libtensorflow under tfjs-node (scripts/install-native-tf.sh installs it): the TensorFlow op is not built"
fi
