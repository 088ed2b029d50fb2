#!/usr/bin/env bash
# Debian's Chromium for the console's browser tests and screenshots (driven by playwright-core, whose own
# browser download cannot work without internet). Idempotent; prints the browser's path. CHROMIUM_PATH names
# another browser (an error when it is not there).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services/lib.sh
if [ -n "${CHROMIUM_PATH:-}" ]; then
  # A browser named on purpose is that browser or an error, never another one found instead.
  [ -x "$CHROMIUM_PATH" ] || { echo "[chromium] CHROMIUM_PATH=$CHROMIUM_PATH is not an executable" >&2; exit 1; }
  echo "$CHROMIUM_PATH"
  exit 0
fi
for candidate in /usr/bin/chromium /usr/bin/chromium-browser; do
  if [ -x "$candidate" ]; then echo "$candidate"; exit 0; fi
done
echo "[chromium] installing chromium from Debian" >&2
apt_install chromium fonts-dejavu-core >&2
echo /usr/bin/chromium
