#!/usr/bin/env bash
# InfluxDB for the measurements store (influxdb://): InfluxDB OSS 2.8, the 2.x line docker compose runs,
# built from its Go module (API only: the web UI is a separate download) into .tools/bin, run on
# 127.0.0.1:18086 with throwaway data under $SERVICES_DIR/influxdb and set up like the official
# image's first start from .env.example: the organisation, bucket, admin user and API token, and the
# v1 compatibility the project's InfluxQL needs (the database/retention policy mapped to the bucket,
# INFLUXDB_USER as a v1 user with read/write on it, GRAFANA_INFLUXDB_USER with read only).
# Usage: influxdb.sh install|start|stop|restart|status|provision|url|grafana-url
set -euo pipefail
shopt -s inherit_errexit
SERVICE=influxdb
SERVER_COMMAND=influxd
SERVICE_PORT=18086
source "$(dirname "$0")/lib.sh"

INFLUXDB_VERSION=2.8.0
INFLUXD="$TOOLS_BIN/influxd"
BUILD_DIR="$REPO_DIR/.tools/influxdb-build"
DIR="$(service_dir "$SERVICE")"
CONFIG_FILE="$DIR/config.toml"
BASE_URL="http://127.0.0.1:$SERVICE_PORT"

is_installed() { [ -x "$INFLUXD" ] && "$INFLUXD" version 2>/dev/null | grep -q "^InfluxDB $INFLUXDB_VERSION "; }

# Flux (linked into influxd) has a Rust core, built by cargo in the Go build cache through
# InfluxData's pkg-config wrapper. Flux pins Rust 1.72, which rustup cannot download here, and denies
# all warnings, which newer lints turn into errors: build with the installed stable Rust with lints
# capped at warnings (a wrapper, since RUSTFLAGS does not reach Flux's build-time crates).
write_rustc_wrapper() {
  cat >"$BUILD_DIR/bin/rustc-cap-lints" <<'EOF'
#!/bin/sh
rustc="$1"
shift
case " $* " in
  *" --cap-lints "*) exec "$rustc" "$@" ;;
  *) exec "$rustc" "$@" --cap-lints warn ;;
esac
EOF
  chmod +x "$BUILD_DIR/bin/rustc-cap-lints"
}

# The module's go.mod has a replace directive, so `go install ...@version` refuses it: build in the
# module's own (read-only) folder instead, with the Makefile's tags and without the `assets` tag
# that would embed the UI. A subshell: it changes directory and environment; run_logged runs it
# where `set -e` does not apply, hence the && chains.
build_influxd() (
  local source_dir
  source_dir="$(go mod download -json "github.com/influxdata/influxdb/v2@v$INFLUXDB_VERSION" | jq -er .Dir)" &&
    mkdir -p "$BUILD_DIR/bin" "$TOOLS_BIN" &&
    write_rustc_wrapper &&
    cd "$source_dir" || return 1
  export GOFLAGS=-mod=readonly CGO_ENABLED=1 RUSTUP_TOOLCHAIN=stable RUSTC_WRAPPER="$BUILD_DIR/bin/rustc-cap-lints"
  unset CARGO_TARGET_DIR
  go build -o "$BUILD_DIR/bin/pkg-config" github.com/influxdata/pkg-config &&
    PKG_CONFIG="$BUILD_DIR/bin/pkg-config" PKG_CONFIG_LOG="$BUILD_DIR/pkg-config.log" \
      go build -tags sqlite_foreign_keys,sqlite_json,flux_nosqlite -ldflags "-X main.version=$INFLUXDB_VERSION" \
      -o "$INFLUXD.partial" ./cmd/influxd &&
    mv "$INFLUXD.partial" "$INFLUXD"
)

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
http-bind-address = "127.0.0.1:$SERVICE_PORT"
bolt-path = "$DIR/influxd.bolt"
sqlite-path = "$DIR/influxd.sqlite"
engine-path = "$DIR/engine"
reporting-disabled = true
ui-disabled = true
log-level = "info"
EOF
}

# api <method> <path> [json body]: the v2 HTTP API as the admin token; prints the JSON answer.
api() {
  local args=(--silent --show-error --fail-with-body --max-time 10 -X "$1" "$BASE_URL$2"
    -H "Authorization: Token $INFLUXDB_TOKEN" -H 'Content-Type: application/json') response
  [ $# -lt 3 ] || args+=(--data "$3")
  if ! response="$(curl "${args[@]}")"; then
    log "ERROR: $1 $2 answered: $response" >&2
    return 1
  fi
  printf '%s\n' "$response"
}

# The official image's first start: organisation, bucket, admin user and API token.
onboard_if_fresh() {
  api GET /api/v2/setup | jq -e .allowed >/dev/null || return 0
  log "setting up organisation $INFLUXDB_ORG, bucket $INFLUXDB_BUCKET and admin $INFLUXDB_ADMIN_USER"
  api POST /api/v2/setup "$(jq -n --arg username "$INFLUXDB_ADMIN_USER" --arg password "$INFLUXDB_ADMIN_PASSWORD" \
    --arg org "$INFLUXDB_ORG" --arg bucket "$INFLUXDB_BUCKET" --arg token "$INFLUXDB_TOKEN" \
    '{$username, $password, $org, $bucket, $token}')" >/dev/null
}

ensure_bucket() {
  local org_id="$1" bucket_id
  bucket_id="$(api GET "/api/v2/buckets?orgID=$org_id&name=$(url_encode "$INFLUXDB_BUCKET")" | jq -r '.buckets[0].id // empty')"
  if [ -z "$bucket_id" ]; then
    bucket_id="$(api POST /api/v2/buckets "$(jq -n --arg orgID "$org_id" --arg name "$INFLUXDB_BUCKET" \
      '{$orgID, $name, retentionRules: []}')" | jq -er .id)"
  fi
  echo "$bucket_id"
}

# What `influx v1 dbrp create` does: InfluxQL's database/retention policy, mapped to the bucket.
ensure_dbrp() {
  local org_id="$1" bucket_id="$2" found
  found="$(api GET "/api/v2/dbrps?orgID=$org_id&db=$(url_encode "$INFLUXDB_DATABASE")&rp=$(url_encode "$INFLUXDB_RETENTION_POLICY")" |
    jq '.content | length')"
  [ "$found" = 0 ] || return 0
  api POST /api/v2/dbrps "$(jq -n --arg orgID "$org_id" --arg bucketID "$bucket_id" \
    --arg database "$INFLUXDB_DATABASE" --arg retention_policy "$INFLUXDB_RETENTION_POLICY" \
    '{$orgID, $bucketID, $database, $retention_policy, default: true}')" >/dev/null
}

# What `influx v1 auth create` does: a v1 user (its name is the legacy authorization's token) with
# the given actions ("read", "write") on the bucket; its password is (re)set on every start.
# ensure_v1_user <org id> <bucket id> <user> <password> <action...>
ensure_v1_user() {
  local org_id="$1" bucket_id="$2" user="$3" password="$4" auth_id
  shift 4
  auth_id="$(api GET "/private/legacy/authorizations?orgID=$org_id" |
    jq -r --arg token "$user" '[.authorizations[] | select(.token == $token)][0].id // empty')"
  if [ -z "$auth_id" ]; then
    auth_id="$(api POST /private/legacy/authorizations "$(jq -n --arg orgID "$org_id" --arg id "$bucket_id" \
      --arg token "$user" --args '{$orgID, $token, description: "v1 user for InfluxQL",
        permissions: $ARGS.positional | map({action: ., resource: {type: "buckets", $id, $orgID}})}' "$@")" | jq -er .id)"
  fi
  api POST "/private/legacy/authorizations/$auth_id/password" "$(jq -n --arg password "$password" '{$password}')" >/dev/null
}

# Idempotent: a fresh data folder is set up, a kept one only checked and completed.
provision() {
  local org_id bucket_id
  onboard_if_fresh
  org_id="$(api GET "/api/v2/orgs?org=$(url_encode "$INFLUXDB_ORG")" | jq -er '.orgs[0].id')" ||
    fail_with_log "the admin token cannot see organisation $INFLUXDB_ORG (data from other settings? delete $DIR)"
  bucket_id="$(ensure_bucket "$org_id")"
  ensure_dbrp "$org_id" "$bucket_id"
  ensure_v1_user "$org_id" "$bucket_id" "$INFLUXDB_USER" "$INFLUXDB_PASSWORD" read write
  ensure_v1_user "$org_id" "$bucket_id" "$GRAFANA_INFLUXDB_USER" "$GRAFANA_INFLUXDB_PASSWORD" read
}

is_alive() { curl --silent --fail --max-time 2 "$BASE_URL/health" >/dev/null; }

# Ready for the project: InfluxQL through the v1 API as the v1 user, on the mapped database.
is_healthy() {
  local response
  is_alive &&
    response="$(curl --silent --fail --max-time 5 --user "$INFLUXDB_USER:$INFLUXDB_PASSWORD" "$BASE_URL/query" \
      --data-urlencode "db=$INFLUXDB_DATABASE" --data-urlencode 'q=SHOW MEASUREMENTS LIMIT 1')" &&
    jq -e '.results[0] | has("error") | not' <<<"$response" >/dev/null
}

start_service() {
  install_service
  write_config
  INFLUXD_CONFIG_PATH="$CONFIG_FILE" launch_server "$INFLUXD" run
  wait_until "${START_TIMEOUT_SECONDS:-60}" "answer to /health" is_alive
  provision
  wait_until 10 "InfluxQL query as $INFLUXDB_USER" is_healthy
}

# Queries log in as the v1 user; writes use the API token and bucket, as against docker compose's.
service_url() {
  printf 'influxdb://%s:%s@127.0.0.1:%s/%s?retentionPolicy=%s&org=%s&bucket=%s&token=%s\n' \
    "$(url_encode "$INFLUXDB_USER")" "$(url_encode "$INFLUXDB_PASSWORD")" "$SERVICE_PORT" \
    "$(url_encode "$INFLUXDB_DATABASE")" "$(url_encode "$INFLUXDB_RETENTION_POLICY")" \
    "$(url_encode "$INFLUXDB_ORG")" "$(url_encode "$INFLUXDB_BUCKET")" "$(url_encode "$INFLUXDB_TOKEN")"
}

# What Grafana's InfluxDB datasource logs in as: the read-only v1 user (no token: it cannot write).
grafana_url() {
  printf 'influxdb://%s:%s@127.0.0.1:%s/%s?retentionPolicy=%s&org=%s&bucket=%s\n' \
    "$(url_encode "$GRAFANA_INFLUXDB_USER")" "$(url_encode "$GRAFANA_INFLUXDB_PASSWORD")" "$SERVICE_PORT" \
    "$(url_encode "$INFLUXDB_DATABASE")" "$(url_encode "$INFLUXDB_RETENTION_POLICY")" \
    "$(url_encode "$INFLUXDB_ORG")" "$(url_encode "$INFLUXDB_BUCKET")"
}

run_service_command "$@"
