#!/usr/bin/env bash
# Temporal's real server (not the dev server), the version compose runs, built from its Go module
# into .tools/bin (`server`, and `sql`, its temporal-sql-tool), on the PostgreSQL of postgres.sh,
# with data in that server and its config, logs and pid files under $SERVICES_DIR/temporal.
# Two processes, so that the frontend can be restarted alone (what a rolling upgrade of the
# frontend Deployment does to clients): the frontend on 127.0.0.1:17233, and history, matching and
# the worker service together. Each start runs compose's scripts as compose does: the schema by
# deploy/temporal/setup-schema.sh, the namespace TEMPORAL_NAMESPACE and the search attributes of
# compose's temporal-init by deploy/temporal/init-namespace.sh (.tools/bin/temporal is the CLI).
# The frontend starts first and the backend once the frontend serves: on a fresh database each
# process writes the cluster's first metadata record at start, and the one that loses that race
# exits ("failed to initialize current cluster metadata"). Ready means the backend answers through
# the frontend (a task queue described by matching, a workflow looked up by history), not only the
# frontend's health.
# TEMPORAL_PORT (default 17233) moves every port with it, TEMPORAL_DATABASE and
# TEMPORAL_VISIBILITY_DATABASE (defaults temporal, temporal_visibility) name its databases: a
# second server beside the first (test/integration/temporalServerStart.test.ts).
# Usage: temporal.sh install|start|stop|restart|status|url|namespace|restart-frontend|stop-frontend|start-frontend|drop-databases
set -euo pipefail
shopt -s inherit_errexit
SERVICE=temporal
SERVER_COMMAND=server
SERVICE_PORT="${TEMPORAL_PORT:-17233}"
source "$(dirname "$0")/lib.sh"

TEMPORAL_MODULE=go.temporal.io/server
TEMPORAL_VERSION=v1.31.2
SERVER="$TOOLS_BIN/server"
SQL_TOOL="$TOOLS_BIN/sql"
DIR="$(service_dir "$SERVICE")"
POSTGRES_PORT=15432
ADDRESS="127.0.0.1:$SERVICE_PORT"
# Ports reserved for the other roles, by default 17234-17240 (gRPC, HTTP, metrics) and 16933-16940
# (membership): offsets from SERVICE_PORT.
P="$SERVICE_PORT"
declare -A GRPC_PORT=([frontend]=$P [history]=$((P + 1)) [matching]=$((P + 2)) [worker]=$((P + 6)))
declare -A MEMBERSHIP_PORT=([frontend]=$((P - 300)) [history]=$((P - 299)) [matching]=$((P - 298)) [worker]=$((P - 294)))
FRONTEND_HTTP_PORT=$((P + 3))
declare -A METRICS_PORT=([frontend]=$((P + 4)) [backend]=$((P + 5)))
DATABASE="${TEMPORAL_DATABASE:-temporal}"
VISIBILITY_DATABASE="${TEMPORAL_VISIBILITY_DATABASE:-temporal_visibility}"
# The roles each process runs: the frontend alone, the rest together.
declare -A ROLES=([frontend]=frontend [backend]="history matching worker")
# The search attributes compose's temporal-init registers (test/unit/composeFile.test.ts keeps them
# equal to workflows/shared.ts SEARCH_ATTRIBUTES).
SEARCH_ATTRIBUTES="$(sed -n 's/^ *TEMPORAL_SEARCH_ATTRIBUTES: *//p' "$REPO_DIR/docker-compose.yml")"

# lib.sh's one pid file and log per service, here one per process.
PROCESS=backend
service_pid_file() { echo "$DIR/$PROCESS.pid"; }
service_log() { echo "$DIR/$PROCESS.log"; }

installed_version() { go version -m "$1" 2>/dev/null | awk '$1 == "mod" { print $3; exit }'; }

install_service() {
  if [ "$(installed_version "$SERVER")" = "$TEMPORAL_VERSION" ] && [ "$(installed_version "$SQL_TOOL")" = "$TEMPORAL_VERSION" ]; then
    return 0
  fi
  log "building $TEMPORAL_MODULE@$TEMPORAL_VERSION (server, sql tool) into $TOOLS_BIN (several minutes on 2 cores)"
  local started
  started="$(now)"
  mkdir -p "$DIR"
  GOBIN="$TOOLS_BIN" run_logged "$DIR/install.log" go install "$TEMPORAL_MODULE/cmd/server@$TEMPORAL_VERSION" \
    "$TEMPORAL_MODULE/cmd/tools/sql@$TEMPORAL_VERSION"
  log "built in $(seconds_since "$started") s"
}

schema_dir() { echo "$(go env GOMODCACHE)/$TEMPORAL_MODULE@$TEMPORAL_VERSION/schema/postgresql/v12"; }

setup_schema() {
  local schema
  schema="$(schema_dir)"
  if [ ! -d "$schema" ]; then
    GOFLAGS=-mod=mod run_logged "$DIR/schema-download.log" go mod download "$TEMPORAL_MODULE@$TEMPORAL_VERSION"
  fi
  POSTGRES_SEEDS=127.0.0.1 POSTGRES_PORT="$POSTGRES_PORT" POSTGRES_USER="$TEMPORAL_POSTGRES_USER" \
    SQL_PASSWORD="$TEMPORAL_POSTGRES_PASSWORD" SCHEMA_DIR="$schema" SQL_TOOL="$SQL_TOOL" \
    TEMPORAL_DATABASE="$DATABASE" TEMPORAL_VISIBILITY_DATABASE="$VISIBILITY_DATABASE" \
    run_logged "$DIR/schema.log" sh "$REPO_DIR/deploy/temporal/setup-schema.sh"
}

# write_config <process>: the server config of one process (they differ in their metrics port only).
write_config() {
  local process="$1" role datastore
  {
    cat <<EOF
# Written by scripts/services/temporal.sh; compose's image renders the same from docker/config_template.yaml.
log:
  stdout: true
  level: warn
persistence:
  # Fixed for the cluster's life (written into the database on the first start). 4, small, as
  # the tests' load needs few; compose runs 512.
  numHistoryShards: 4
  defaultStore: default
  visibilityStore: visibility
  datastores:
EOF
    for datastore in "default:$DATABASE:20" "visibility:$VISIBILITY_DATABASE:10"; do
      IFS=: read -r name database connections <<<"$datastore"
      cat <<EOF
    $name:
      sql:
        pluginName: postgres12
        databaseName: $database
        connectAddr: "127.0.0.1:$POSTGRES_PORT"
        connectProtocol: tcp
        user: "$TEMPORAL_POSTGRES_USER"
        password: "$TEMPORAL_POSTGRES_PASSWORD"
        maxConns: $connections
        maxIdleConns: $connections
        maxConnLifetime: 1h
EOF
    done
    cat <<EOF
global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: 127.0.0.1
  metrics:
    prometheus:
      framework: tally
      timerType: histogram
      listenAddress: "127.0.0.1:${METRICS_PORT[$process]}"
services:
EOF
    for role in frontend history matching worker; do
      cat <<EOF
  $role:
    rpc:
      grpcPort: ${GRPC_PORT[$role]}
      membershipPort: ${MEMBERSHIP_PORT[$role]}
      bindOnIP: 127.0.0.1
EOF
      [ "$role" = frontend ] && echo "      httpPort: $FRONTEND_HTTP_PORT"
    done
    cat <<EOF
clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: active
  currentClusterName: active
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: frontend
      rpcAddress: "$ADDRESS"
dcRedirectionPolicy:
  policy: noop
dynamicConfigClient:
  filepath: "$REPO_DIR/deploy/temporal/dynamicconfig/edge-mlops.yaml"
  pollInterval: 10s
EOF
  } >"$DIR/$process.yaml"
}

is_healthy() { "$TOOLS_BIN/temporal" operator cluster health --address "$ADDRESS" 2>/dev/null | grep -q SERVING; }

# Matching describes a task queue, history answers that a workflow does not exist: both roles are
# in the frontend's membership ring ("Not enough hosts to serve the request" otherwise).
backend_answers() {
  local cli=("$TOOLS_BIN/temporal" --address "$ADDRESS" --namespace temporal-system --command-timeout 5s) answer
  "${cli[@]}" task-queue describe --task-queue readiness-probe >/dev/null 2>&1 || return 1
  answer="$("${cli[@]}" workflow describe --workflow-id readiness-probe 2>&1)" && return 1
  [[ "$answer" == *"workflow not found"* ]]
}

# start_process <process>: starts it unless it runs already.
start_process() {
  PROCESS="$1"
  if running_pid >/dev/null; then return 0; fi
  write_config "$PROCESS"
  local role_flags=() role
  for role in ${ROLES[$PROCESS]}; do role_flags+=(--service "$role"); done
  launch_server "$SERVER" --config-file "$DIR/$PROCESS.yaml" --allow-no-auth start "${role_flags[@]}"
}

# Starting, the log of the process waited for is the one wait_until shows.
wait_for_frontend() {
  PROCESS=frontend
  wait_until "${START_TIMEOUT_SECONDS:-120}" "SERVING from $ADDRESS" is_healthy
}

wait_for_backend() {
  PROCESS=backend
  wait_until "${START_TIMEOUT_SECONDS:-120}" "history and matching answering through $ADDRESS" backend_answers
}

init_namespace() {
  PATH="$TOOLS_BIN:$PATH" TEMPORAL_ADDRESS="$ADDRESS" TEMPORAL_NAMESPACE="${1:-$TEMPORAL_NAMESPACE}" \
    TEMPORAL_SEARCH_ATTRIBUTES="$SEARCH_ATTRIBUTES" run_logged "$DIR/init-namespace.log" sh "$REPO_DIR/deploy/temporal/init-namespace.sh"
}

start_service() {
  local started
  mkdir -p "$DIR"
  [ -x "$SERVER" ] && [ -x "$SQL_TOOL" ] || fail_with_log "$SERVER or $SQL_TOOL is missing: run '$0 install' first"
  started="$(now)"
  setup_schema
  log "schema ready in $(seconds_since "$started") s"
  started="$(now)"
  start_process frontend
  wait_for_frontend
  start_process backend
  wait_for_backend
  log "server SERVING (frontend, history, matching) in $(seconds_since "$started") s"
  started="$(now)"
  init_namespace
  log "namespace $TEMPORAL_NAMESPACE and search attributes ready in $(seconds_since "$started") s"
}

# The server's two databases, dropped (its history and visibility gone): only while it is stopped.
drop_databases() {
  local process database
  for process in backend frontend; do
    PROCESS="$process"
    if running_pid >/dev/null; then fail_with_log "the $process runs: stop the server before dropping its databases"; fi
  done
  for database in "$DATABASE" "$VISIBILITY_DATABASE"; do
    SQL_PASSWORD="$TEMPORAL_POSTGRES_PASSWORD" run_logged "$DIR/drop-databases.log" "$SQL_TOOL" --plugin postgres12 \
      --ep 127.0.0.1 -p "$POSTGRES_PORT" -u "$TEMPORAL_POSTGRES_USER" --db "$database" drop --force
    log "dropped database $database"
  done
}

stop_process() {
  PROCESS="$1"
  SERVICE="temporal $PROCESS" stop_server
}

start_frontend() {
  local started
  started="$(now)"
  start_process frontend
  wait_for_frontend
  log "frontend SERVING in $(seconds_since "$started") s"
}

status() {
  local process pid
  for process in backend frontend; do
    PROCESS="$process"
    pid="$(running_pid)" || { log "$process not running"; return 1; }
    log "$process running (pid $pid)"
  done
  is_healthy || { log "running but $ADDRESS does not answer SERVING"; return 1; }
  backend_answers || { log "$ADDRESS serves but history or matching does not answer through it"; return 1; }
  log "$ADDRESS SERVING"
}

case "${1:-}" in
  install) install_service ;;
  start)
    started="$(now)"
    start_service
    echo "$SERVICE ready in $(seconds_since "$started") s"
    ;;
  stop)
    stop_process frontend
    stop_process backend
    ;;
  restart)
    bash "$0" stop
    bash "$0" start
    ;;
  status) status ;;
  url) echo "$ADDRESS" ;;
  # namespace <name>: registers another namespace with the search attributes (the tests' own).
  namespace) init_namespace "${2:?usage: $0 namespace <name>}" ;;
  drop-databases) drop_databases ;;
  stop-frontend) stop_process frontend ;;
  start-frontend) start_frontend ;;
  restart-frontend)
    stop_process frontend
    start_frontend
    ;;
  *)
    echo "usage: $0 install|start|stop|restart|status|url|namespace <name>|restart-frontend|stop-frontend|start-frontend|drop-databases" >&2
    exit 2
    ;;
esac
