#!/usr/bin/env bash
# setup-keras.sh — the Python venv for the Keras reference benchmark (bench/keras_reference.py) and
# the thesis's predict path (bench/thesis_predict_server.py: Flask, OpenCV, scikit-image).
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
# The thesis harness's web server and image analysis, pinned; numpy<2 as TF 2.9 needs.
HARNESS_PACKAGES=(flask==3.0.3 werkzeug==3.0.6 opencv-python-headless==4.10.0.84 scikit-image==0.22.0)

has_harness_packages() {
  "$VENV/bin/python" - "${HARNESS_PACKAGES[@]}" <<'PY' 2>/dev/null
import sys
from importlib.metadata import PackageNotFoundError, version
try:
    sys.exit(any(version(name) != pinned for name, pinned in (p.split("==") for p in sys.argv[1:])))
except PackageNotFoundError:
    sys.exit(1)
PY
}

install_harness_packages() {
  has_harness_packages && return 0
  log "installing ${HARNESS_PACKAGES[*]}"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${HARNESS_PACKAGES[@]}" 'numpy<2' 'protobuf<3.20' >&2
}

if [[ -x "$VENV/bin/python" ]] && "$VENV/bin/python" -c "import tensorflow as tf, sys; sys.exit(tf.__version__ != '$TF_VERSION')" 2>/dev/null; then
  log "venv $VENV already has tensorflow $TF_VERSION"
  install_harness_packages
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
install_harness_packages
