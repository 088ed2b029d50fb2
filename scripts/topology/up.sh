#!/usr/bin/env bash
# The replicated production topology on this machine, for a human to drive (the tests start their own
# with test/support/topology.ts): the servers of scripts/services/up.sh (Temporal's real server on
# PostgreSQL, MariaDB, InfluxDB, the S3 gateway), two worker processes and two API replicas on them,
# and HAProxy in front of the APIs:
#   load balancer  http://127.0.0.1:18080  (HAProxy's view of the replicas: /haproxy-stats)
#   API replicas   http://127.0.0.1:18081, http://127.0.0.1:18082  (DATA_DIR, the spool: .services/topology/api-N/data)
#   worker metrics http://127.0.0.1:18091/metrics, http://127.0.0.1:18092/metrics
#   Temporal's Web UI http://127.0.0.1:18233 (scripts/services/temporal-ui.sh)
# Logs and pid files under $SERVICES_DIR/topology/<process>/. The processes get the settings of
# .env.example, as compose's containers do, with ADMIN_TOKEN and WEBHOOK_TOKEN from the environment
# when set. Running again starts what is not running; scripts/topology/down.sh stops it all.
set -euo pipefail
shopt -s inherit_errexit
# lib.sh exports .env.example's settings: the caller's tokens win.
given_admin_token="${ADMIN_TOKEN:-}"
given_webhook_token="${WEBHOOK_TOKEN:-}"
SERVICE=topology
SERVER_COMMAND=node
source "$(dirname "$0")/../services/lib.sh"
PATH="$PATH:/usr/sbin"

LB_PORT=18080
API_PORTS=(18081 18082)
WORKER_METRICS_PORTS=(18091 18092)
TOPOLOGY_DIR="$SERVICES_DIR/topology"
# A process is ready within this long (an API loads TensorFlow and waits for the workers to poll).
READY_TIMEOUT_SECONDS="${READY_TIMEOUT_SECONDS:-180}"

bash "$REPO_DIR/scripts/services/up.sh"
# The Web UI on Temporal's server (not needed by the tests, so not in scripts/services/up.sh).
bash "$REPO_DIR/scripts/services/temporal-ui.sh" install
bash "$REPO_DIR/scripts/services/temporal-ui.sh" start
# shellcheck source=/dev/null
source "$SERVICES_DIR/env"

# The settings every process of the topology gets.
app_env=(
  REGISTRY_URL="$PRODUCTION_REGISTRY_URL"
  MEASUREMENTS_URL="$PRODUCTION_MEASUREMENTS_URL"
  OBJECTS_URL="$PRODUCTION_OBJECTS_URL"
  TEMPORAL_ADDRESS="$TEMPORAL_SERVER_ADDRESS"
  TEMPORAL_NAMESPACE="$TEMPORAL_SERVER_NAMESPACE"
  TEMPORAL_UI_URL="$(bash "$REPO_DIR/scripts/services/temporal-ui.sh" url)"
)
ADMIN_TOKEN="${given_admin_token:-$ADMIN_TOKEN}"
WEBHOOK_TOKEN="${given_webhook_token:-$WEBHOOK_TOKEN}"

# start_process <name> <command...>: starts it (logged, pid file) unless it runs already.
start_process() {
  SERVICE="topology/$1"
  shift
  mkdir -p "$(service_dir "$SERVICE")"
  if pid="$(running_pid)"; then
    log "already running (pid $pid)"
    return 0
  fi
  (cd "$REPO_DIR" && launch_server "$@")
  log "started (pid $(cat "$(service_pid_file "$SERVICE")")); log: $(service_log "$SERVICE")"
}

api_ready() { curl --silent --fail --max-time 5 --output /dev/null "http://127.0.0.1:$1/readyz"; }
balancer_ready() { curl --silent --fail --max-time 5 "http://127.0.0.1:$LB_PORT/haproxy-stats;csv" | awk -F, '$1 == "apis" && $2 ~ /^api-/ && $18 != "UP" { down = 1 } END { exit down }'; }

started="$(now)"
for i in "${!WORKER_METRICS_PORTS[@]}"; do
  name="worker-$((i + 1))"
  start_process "$name" env "${app_env[@]}" DATA_DIR="$TOPOLOGY_DIR/$name/data" \
    WORKER_METRICS_ADDRESS="127.0.0.1:${WORKER_METRICS_PORTS[$i]}" node --import tsx workers/main.ts
done
for i in "${!API_PORTS[@]}"; do
  name="api-$((i + 1))"
  start_process "$name" env "${app_env[@]}" DATA_DIR="$TOPOLOGY_DIR/$name/data" API_HOST=127.0.0.1 \
    API_PORT="${API_PORTS[$i]}" node --no-memory-reducer --import tsx api/server.ts
done
# An API is ready once its stores, Temporal and a polling worker answer.
for i in "${!API_PORTS[@]}"; do
  SERVICE="topology/api-$((i + 1))"
  wait_until "$READY_TIMEOUT_SECONDS" "200 from http://127.0.0.1:${API_PORTS[$i]}/readyz" api_ready "${API_PORTS[$i]}"
done

replicas=()
for i in "${!API_PORTS[@]}"; do replicas+=("api-$((i + 1))=${API_PORTS[$i]}"); done
mkdir -p "$TOPOLOGY_DIR/haproxy"
bash "$REPO_DIR/scripts/topology/haproxy-config.sh" "$LB_PORT" "${replicas[@]}" >"$TOPOLOGY_DIR/haproxy/haproxy.cfg"
SERVER_COMMAND=haproxy start_process haproxy haproxy -db -f "$TOPOLOGY_DIR/haproxy/haproxy.cfg"
SERVICE=topology/haproxy SERVER_COMMAND=haproxy wait_until 30 "every replica UP in HAProxy" balancer_ready

SERVICE=topology
log "up in $(seconds_since "$started") s: load balancer http://127.0.0.1:$LB_PORT (stats /haproxy-stats), APIs ${API_PORTS[*]}, worker metrics ${WORKER_METRICS_PORTS[*]}"
log "admin token: $ADMIN_TOKEN; Temporal's frontend $TEMPORAL_SERVER_ADDRESS, namespace $TEMPORAL_SERVER_NAMESPACE, Web UI http://127.0.0.1:18233"
log "stop it with: bash scripts/topology/down.sh"
