#!/usr/bin/env bash
# InfluxDB for the measurements store (influxdb://): InfluxDB OSS 1.13, built from its Go module
# (with Flux's Rust library) into .tools/bin, run on 127.0.0.1:18086 with throwaway data under
# $SERVICES_DIR/influxdb, authentication on, and the admin user and database of .env.example.
# It serves the two APIs the project uses: writes on /api/v2/write (bucket `db/rp`, token
# `user:password`) and InfluxQL on /query. Usage: influxdb.sh install|start|stop|restart|status|url
set -euo pipefail
SERVICE=influxdb
SERVER_COMMAND=influxd
SERVICE_PORT=18086
RPC_PORT=18088
source "$(dirname "$0")/lib.sh"

INFLUXDB_VERSION=1.13.2
PKG_CONFIG_WRAPPER_VERSION=0.3.0
INFLUXD="$TOOLS_BIN/influxd"
BUILD_DIR="$REPO_DIR/.tools/influxdb-build"
DIR="$(service_dir "$SERVICE")"
CONFIG_FILE="$DIR/influxdb.conf"
BASE_URL="http://127.0.0.1:$SERVICE_PORT"

is_installed() {
  [ -x "$INFLUXD" ] && go version -m "$INFLUXD" 2>/dev/null |
    grep -qE "^[[:space:]]mod[[:space:]]github.com/influxdata/influxdb[[:space:]]v$INFLUXDB_VERSION[[:space:]]"
}

# influxd links Flux's Rust library through InfluxData's pkg-config wrapper, which builds it with
# cargo (in the Go build cache) on the first call. Flux pins an older Rust in rust-toolchain.toml
# that rustup cannot download here; the installed stable toolchain builds it.
build_influxd() {
  mkdir -p "$BUILD_DIR/bin" "$TOOLS_BIN"
  GOBIN="$BUILD_DIR/bin" go install "github.com/influxdata/pkg-config@v$PKG_CONFIG_WRAPPER_VERSION"
  env -u CARGO_TARGET_DIR GOBIN="$TOOLS_BIN" CGO_ENABLED=1 RUSTUP_TOOLCHAIN=stable \
    PKG_CONFIG="$BUILD_DIR/bin/pkg-config" PKG_CONFIG_LOG="$BUILD_DIR/pkg-config.log" \
    go install -ldflags "-X main.version=$INFLUXDB_VERSION" \
    "github.com/influxdata/influxdb/cmd/influxd@v$INFLUXDB_VERSION"
}

install_service() {
  is_installed && return 0
  mkdir -p "$BUILD_DIR"
  exec 9>"$BUILD_DIR/install.lock"
  flock 9
  is_installed && return 0
  log "building influxd $INFLUXDB_VERSION with Flux (cold: several minutes; log: $BUILD_DIR/build.log)"
  local started
  started="$(now)"
  run_logged "$BUILD_DIR/build.log" build_influxd
  log "installed $("$INFLUXD" version) in $(seconds_since "$started") s"
}

write_config() {
  cat >"$CONFIG_FILE" <<EOF
reporting-disabled = true
bind-address = "127.0.0.1:$RPC_PORT"

[meta]
  dir = "$DIR/meta"

[data]
  dir = "$DIR/data"
  wal-dir = "$DIR/wal"
  query-log-enabled = false

[monitor]
  store-enabled = false

[http]
  bind-address = "127.0.0.1:$SERVICE_PORT"
  auth-enabled = true
  flux-enabled = true
  log-enabled = false
  pprof-enabled = false

[logging]
  level = "info"
EOF
}

# influxql <curl args...>: a POST to /query; fails on an HTTP error or an error in the result.
influxql() {
  local response
  response="$(curl --silent --show-error --fail-with-body --max-time 10 -X POST "$BASE_URL/query" "$@")" ||
    { echo "$response" >&2; return 1; }
  if jq -e '[.results[]? | select(.error)] | length > 0' <<<"$response" >/dev/null; then
    echo "$response" >&2
    return 1
  fi
}

as_admin() { influxql --user "$INFLUXDB_USER:$INFLUXDB_PASSWORD" "$@"; }

influxql_string() { printf "'%s'" "$(printf '%s' "$1" | sed "s/[\\\\']/\\\\&/g")"; }
influxql_name() { printf '"%s"' "$(printf '%s' "$1" | sed 's/[\\"]/\\&/g')"; }

# Like the official image's first start: InfluxDB lets the first admin user be created without
# credentials while it has no user. Later starts find the user and only make sure of the database.
provision() {
  if ! as_admin --data-urlencode 'q=SHOW DATABASES' 2>/dev/null; then
    log "creating admin user $INFLUXDB_USER"
    influxql --data-urlencode "q=CREATE USER $(influxql_name "$INFLUXDB_USER") WITH PASSWORD $(influxql_string "$INFLUXDB_PASSWORD") WITH ALL PRIVILEGES" ||
      fail_with_log "could not create the admin user (a data folder from other settings? delete $DIR)"
  fi
  as_admin --data-urlencode "q=CREATE DATABASE $(influxql_name "$INFLUXDB_DATABASE")"
}

is_alive() { curl --silent --fail --max-time 2 "$BASE_URL/ping" >/dev/null; }

is_healthy() {
  curl --silent --fail --max-time 2 "$BASE_URL/health" >/dev/null &&
    as_admin --get --data-urlencode "db=$INFLUXDB_DATABASE" --data-urlencode 'q=SHOW MEASUREMENTS LIMIT 1' >/dev/null 2>&1
}

start_service() {
  install_service
  write_config
  launch_server "$INFLUXD" run -config "$CONFIG_FILE"
  wait_until "${START_TIMEOUT_SECONDS:-60}" "answer to /ping" is_alive
  provision || fail_with_log "could not create the database $INFLUXDB_DATABASE"
  wait_until 10 "InfluxQL query as $INFLUXDB_USER" is_healthy
}

service_url() {
  echo "influxdb://$(url_encode "$INFLUXDB_USER"):$(url_encode "$INFLUXDB_PASSWORD")@127.0.0.1:$SERVICE_PORT/$(url_encode "$INFLUXDB_DATABASE")"
}

run_service_command "$@"
