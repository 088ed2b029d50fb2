#!/usr/bin/env bash
# Stops what scripts/topology/up.sh started: HAProxy, the API replicas (SIGTERM: each stores its
# spooled frames before it exits), then the workers. The shared servers stay up
# (scripts/services/down.sh stops them); the spools and logs stay under $SERVICES_DIR/topology.
set -euo pipefail
SERVICE=topology
source "$(dirname "$0")/../services/lib.sh"

# An API drains its spool on SIGTERM: give it time before the SIGKILL.
export STOP_TIMEOUT_SECONDS="${STOP_TIMEOUT_SECONDS:-180}"
stop_process() {
  SERVICE="topology/$1" SERVER_COMMAND="$2" stop_server
}

# stop_all <glob>: the processes whose folders match, at once.
stop_all() {
  local dir pids=() failed=0 pid
  for dir in "$SERVICES_DIR"/topology/$1/; do
    [ -d "$dir" ] || continue
    stop_process "$(basename "$dir")" node &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
  return "$failed"
}

stop_process haproxy haproxy
stop_all 'api-*'
stop_all 'worker-*'
