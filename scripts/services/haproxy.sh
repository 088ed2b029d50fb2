#!/usr/bin/env bash
# HAProxy, the load balancer in front of the API replicas (Debian's package). Installed only: each
# topology (test/support/topology.ts, scripts/topology/up.sh) runs its own with a config of its own.
# Usage: haproxy.sh install|path
set -euo pipefail
SERVICE=haproxy
source "$(dirname "$0")/lib.sh"
PATH="$PATH:/usr/sbin"

install_service() {
  if command -v haproxy >/dev/null; then return 0; fi
  log "installing haproxy from Debian"
  mkdir -p "$(service_dir "$SERVICE")"
  run_logged "$(service_dir "$SERVICE")/install.log" apt_install haproxy
  log "installed $(haproxy -v | head -n 1)"
}

case "${1:-}" in
  install) install_service ;;
  path) command -v haproxy ;;
  *)
    echo "usage: $0 install|path" >&2
    exit 2
    ;;
esac
