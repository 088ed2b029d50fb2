#!/usr/bin/env bash
# Debian's Chromium for the console's browser tests and screenshots (driven by playwright-core, whose own
# browser download cannot work without internet). Idempotent; prints the browser's path.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services/lib.sh
for candidate in "${CHROMIUM_PATH:-}" /usr/bin/chromium /usr/bin/chromium-browser; do
  if [ -n "$candidate" ] && [ -x "$candidate" ]; then echo "$candidate"; exit 0; fi
done
echo "[chromium] installing chromium from Debian" >&2
apt_install chromium fonts-dejavu-core >&2
echo /usr/bin/chromium
