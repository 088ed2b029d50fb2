#!/usr/bin/env bash
# The S3 object store (s3://) for tests: Versity's S3 gateway (Apache-2.0) over a plain folder,
# built from its Go module into .tools/bin, on 127.0.0.1:19000 with throwaway data under
# $SERVICES_DIR/versitygw and the MinIO root credentials of .env.example as its root access key.
# docker compose runs the same version's image (versity/versitygw, its `s3` service); the minio npm client speaks S3.
# Usage: versitygw.sh install|start|stop|restart|status|url
set -euo pipefail
SERVICE=versitygw
SERVER_COMMAND=versitygw
SERVICE_PORT=19000
source "$(dirname "$0")/lib.sh"

VERSITYGW_MODULE=github.com/versity/versitygw
VERSITYGW_VERSION=v1.8.0
BINARY="$TOOLS_BIN/versitygw"
DIR="$(service_dir "$SERVICE")"
HEALTH_URL="http://127.0.0.1:$SERVICE_PORT/health"

installed_version() { go version -m "$BINARY" 2>/dev/null | awk '$1 == "mod" { print $3 }'; }

install_service() {
  if [ "$(installed_version)" = "$VERSITYGW_VERSION" ]; then return 0; fi
  log "building $VERSITYGW_MODULE@$VERSITYGW_VERSION into $TOOLS_BIN (a few minutes on 2 cores)"
  local started
  started="$(now)"
  GOBIN="$TOOLS_BIN" run_logged "$DIR/install.log" go install "$VERSITYGW_MODULE/cmd/versitygw@$VERSITYGW_VERSION"
  log "built in $(seconds_since "$started") s"
}

is_healthy() { curl --silent --fail --max-time 2 --output /dev/null "$HEALTH_URL"; }

start_service() {
  [ -x "$BINARY" ] || fail_with_log "$BINARY is missing: run '$0 install' first"
  mkdir -p "$DIR/data"
  ROOT_ACCESS_KEY_ID="$MINIO_ROOT_USER" ROOT_SECRET_ACCESS_KEY="$MINIO_ROOT_PASSWORD" \
    launch_server "$BINARY" --port "127.0.0.1:$SERVICE_PORT" --health /health --quiet posix "$DIR/data"
  wait_until "${START_TIMEOUT_SECONDS:-60}" "answer from $HEALTH_URL" is_healthy
}

service_url() {
  echo "s3://$(url_encode "$MINIO_ROOT_USER"):$(url_encode "$MINIO_ROOT_PASSWORD")@127.0.0.1:$SERVICE_PORT/$(url_encode "$S3_BUCKET")"
}

run_service_command "$@"
