#!/usr/bin/env bash
# PostgreSQL for Temporal's real server (history and visibility, as compose's temporal-postgres):
# Debian's server, run without a service manager on 127.0.0.1:15432 with a cluster of its own under
# $SERVICES_DIR/postgres, its superuser TEMPORAL_POSTGRES_USER/PASSWORD of .env.example (what
# compose's image creates from POSTGRES_USER/POSTGRES_PASSWORD). temporal.sh creates the databases.
# PostgreSQL refuses to run as root: as root (CI), the cluster belongs to and runs as `postgres`
# (Debian's package creates that user), or `nobody` where there is none.
# Usage: postgres.sh install|start|stop|restart|status|url
set -euo pipefail
shopt -s inherit_errexit
SERVICE=postgres
SERVER_COMMAND=postgres
SERVICE_PORT=15432
source "$(dirname "$0")/lib.sh"

DIR="$(service_dir "$SERVICE")"

# Debian's binaries (/usr/lib/postgresql/<major>/bin), newest major first; not whatever `postgres`
# is on PATH, which may be a link to another install.
postgres_bin_dir() {
  local dir
  dir="$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1)"
  [ -n "$dir" ] && [ -x "$dir/postgres" ] && [ -x "$dir/initdb" ] && echo "$dir"
}

install_service() {
  if postgres_bin_dir >/dev/null; then return 0; fi
  log "installing postgresql from Debian"
  run_logged "$DIR/install.log" apt_install postgresql
  log "installed $("$(postgres_bin_dir)/postgres" --version)"
}

server_user() {
  if [ "$(id -u)" -ne 0 ]; then
    id -un
  elif id postgres >/dev/null 2>&1; then
    echo postgres
  else
    echo nobody
  fi
}

# The command prefix that runs a program as server_user, in place (exec: a pid stays the server's).
as_server_user=()
if [ "$(id -u)" -eq 0 ]; then
  as_server_user=(setpriv --reuid="$(server_user)" --regid="$(id -g "$(server_user)")" --init-groups --)
fi

# The server user must reach its data folder. $DIR/data it is, unless a folder above $DIR is closed
# to that user (a checkout under /root, say): then the cluster lives in a folder of its own under
# ${TMPDIR:-/tmp}, named after $DIR, and $DIR/data links to it.
resolve_data_dir() {
  if [ ${#as_server_user[@]} -eq 0 ] || "${as_server_user[@]}" test -x "$DIR"; then
    DATA_DIR="$DIR/data"
    return 0
  fi
  DATA_DIR="${TMPDIR:-/tmp}/edge-mlops-postgres-$(printf '%s' "$DIR" | sha256sum | cut -c1-12)"
  [ -e "$DIR/data" ] || [ -L "$DIR/data" ] || ln -s "$DATA_DIR" "$DIR/data"
}

# The first start initialises the cluster; every login needs the password (TCP only: no socket).
initialise_data() {
  local bin="$1" password_file="$DATA_DIR.password"
  log "initialising $DATA_DIR (as $(server_user))"
  rm -rf "$DATA_DIR.partial"
  mkdir -p "$DATA_DIR.partial"
  printf '%s\n' "$TEMPORAL_POSTGRES_PASSWORD" >"$password_file"
  chmod 600 "$password_file"
  chown "$(server_user)" "$DATA_DIR.partial" "$password_file"
  run_logged "$DIR/initdb.log" "${as_server_user[@]}" "$bin/initdb" --pgdata="$DATA_DIR.partial" \
    --username="$TEMPORAL_POSTGRES_USER" --pwfile="$password_file" --auth=scram-sha-256 --encoding=UTF8 --locale=C
  rm -f "$password_file"
  mv "$DATA_DIR.partial" "$DATA_DIR"
}

is_healthy() {
  PGPASSWORD="$TEMPORAL_POSTGRES_PASSWORD" "$(postgres_bin_dir)/psql" --no-psqlrc --quiet --host=127.0.0.1 \
    --port="$SERVICE_PORT" --username="$TEMPORAL_POSTGRES_USER" --dbname=postgres --command='SELECT 1' >/dev/null
}

start_service() {
  local bin
  bin="$(postgres_bin_dir)" || fail_with_log "no PostgreSQL under /usr/lib/postgresql: run '$0 install' first"
  resolve_data_dir
  [ -f "$DATA_DIR/PG_VERSION" ] || initialise_data "$bin"
  # Throwaway data: a commit is not fsynced, but survives the server process being killed.
  launch_server "${as_server_user[@]}" "$bin/postgres" -D "$DATA_DIR" -c listen_addresses=127.0.0.1 -c port="$SERVICE_PORT" \
    -c unix_socket_directories= -c synchronous_commit=off -c max_connections=200
  wait_until "${START_TIMEOUT_SECONDS:-60}" "login as $TEMPORAL_POSTGRES_USER on port $SERVICE_PORT" is_healthy
}

service_url() {
  echo "postgres://$(url_encode "$TEMPORAL_POSTGRES_USER"):$(url_encode "$TEMPORAL_POSTGRES_PASSWORD")@127.0.0.1:$SERVICE_PORT/postgres"
}

run_service_command "$@"
