#!/usr/bin/env bash
# Temporal's Web UI for the real server of temporal.sh: the UI server compose runs (temporalio/ui),
# built from its Go module, which embeds the UI's assets, into .tools/bin/temporal-ui-server, on
# 127.0.0.1:18233 with its config under $SERVICES_DIR/temporal-ui. No login: loopback only.
# Usage: temporal-ui.sh install|start|stop|restart|status|url
set -euo pipefail
shopt -s inherit_errexit
SERVICE=temporal-ui
SERVER_COMMAND=temporal-ui-ser # ps shows the first 15 characters of a command's name
SERVICE_PORT=18233
source "$(dirname "$0")/lib.sh"

UI_MODULE=github.com/temporalio/ui-server/v2
UI_VERSION=v2.49.1
BINARY="$TOOLS_BIN/temporal-ui-server"
DIR="$(service_dir "$SERVICE")"
TEMPORAL_FRONTEND=127.0.0.1:17233

installed_version() { go version -m "$BINARY" 2>/dev/null | awk '$1 == "mod" { print $3; exit }'; }

# The module's command is called `server`, as Temporal's is: built apart, then renamed.
install_service() {
  if [ "$(installed_version)" = "$UI_VERSION" ]; then return 0; fi
  log "building $UI_MODULE@$UI_VERSION into $BINARY (about a minute)"
  local started build_dir
  started="$(now)"
  mkdir -p "$DIR"
  build_dir="$(mktemp -d)"
  GOBIN="$build_dir" run_logged "$DIR/install.log" go install "$UI_MODULE/cmd/server@$UI_VERSION"
  mv "$build_dir/server" "$BINARY"
  rmdir "$build_dir"
  log "built in $(seconds_since "$started") s"
}

write_config() {
  mkdir -p "$DIR/config"
  cat >"$DIR/config/base.yaml" <<EOC
# Written by scripts/services/temporal-ui.sh
temporalGrpcAddress: $TEMPORAL_FRONTEND
host: 127.0.0.1
port: $SERVICE_PORT
enableUi: true
defaultNamespace: $TEMPORAL_NAMESPACE
refreshInterval: 1m
cors:
  allowOrigins:
    - http://127.0.0.1:$SERVICE_PORT
    - http://localhost:$SERVICE_PORT
EOC
}

is_healthy() { curl --silent --fail --max-time 2 --output /dev/null "http://127.0.0.1:$SERVICE_PORT/api/v1/namespaces"; }

start_service() {
  [ -x "$BINARY" ] || fail_with_log "$BINARY is missing: run '$0 install' first"
  write_config
  launch_server "$BINARY" --root "$DIR" --config config --env local start
  wait_until "${START_TIMEOUT_SECONDS:-60}" "the namespaces of $TEMPORAL_FRONTEND through the UI" is_healthy
}

service_url() { echo "http://127.0.0.1:$SERVICE_PORT"; }

run_service_command "$@"
