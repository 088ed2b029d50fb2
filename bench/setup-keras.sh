#!/usr/bin/env bash
# setup-keras.sh — the Python venv for the Keras reference benchmark (bench/keras_reference.py).
#
# It installs the same tensorflow-cpu wheel that scripts/install-native-tf.sh turns into
# tfjs-node's libtensorflow (2.9.1, cp310), so Keras and tfjs-node run the same kernels.
# Idempotent: does nothing when the venv already imports that TensorFlow.
# Env: BENCH_PYTHON (default pyenv's 3.10.13, else python3.10), BENCH_KERAS_VENV (default .tools/keras-venv).
set -euo pipefail

log() { printf '[setup-keras] %s\n' "$*" >&2; }

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TF_VERSION="2.9.1"
VENV="${BENCH_KERAS_VENV:-$ROOT/.tools/keras-venv}"
WHEELS="$ROOT/.tools/tensorflow/wheels"

if [[ -x "$VENV/bin/python" ]] && "$VENV/bin/python" -c "import tensorflow as tf, sys; sys.exit(tf.__version__ != '$TF_VERSION')" 2>/dev/null; then
  log "venv $VENV already has tensorflow $TF_VERSION"
  exit 0
fi

PYTHON="${BENCH_PYTHON:-}"
if [[ -z "$PYTHON" ]]; then
  for candidate in /root/.pyenv/versions/3.10.13/bin/python "$(command -v python3.10 || true)"; do
    if [[ -n "$candidate" && -x "$candidate" ]]; then PYTHON="$candidate"; break; fi
  done
fi
[[ -n "$PYTHON" ]] || { log "ERROR: no Python 3.10 found (the tensorflow-cpu $TF_VERSION wheel is cp310); set BENCH_PYTHON"; exit 1; }

log "creating $VENV with $PYTHON"
rm -rf "$VENV"
"$PYTHON" -m venv "$VENV"

mkdir -p "$WHEELS"
WHEEL="$(compgen -G "$WHEELS/tensorflow_cpu-$TF_VERSION-cp310-*manylinux*x86_64*.whl" | head -n1 || true)"
if [[ -z "$WHEEL" ]]; then
  log "downloading tensorflow-cpu==$TF_VERSION (cp310) into $WHEELS"
  "$VENV/bin/python" -m pip download "tensorflow-cpu==$TF_VERSION" --no-deps --only-binary=:all: -d "$WHEELS" >&2
  WHEEL="$(compgen -G "$WHEELS/tensorflow_cpu-$TF_VERSION-cp310-*manylinux*x86_64*.whl" | head -n1)"
fi

# TF 2.9 is built against NumPy 1.x and protobuf 3.x; newer majors fail at import.
log "installing $(basename "$WHEEL") and its dependencies"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$WHEEL" 'numpy<2' 'protobuf<3.20' >&2
"$VENV/bin/python" -c "import tensorflow as tf; print('[setup-keras] tensorflow', tf.__version__, 'keras', tf.keras.__version__)" >&2
