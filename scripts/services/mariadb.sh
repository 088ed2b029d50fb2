#!/usr/bin/env bash
# MariaDB for the model registry (mysql://): Debian's server, run without a service manager on
# 127.0.0.1:13306 with throwaway data under $SERVICES_DIR/mariadb, and the database and users of
# .env.example: the application's, and Grafana's with SELECT only (as deploy/mysql/init/ for compose).
# Usage: mariadb.sh install|start|stop|restart|status|provision|url|grafana-url
set -euo pipefail
SERVICE=mariadb
SERVER_COMMAND=mariadbd
SERVICE_PORT=13306
source "$(dirname "$0")/lib.sh"
PATH="$PATH:/usr/sbin"

DIR="$(service_dir "$SERVICE")"
CONFIG_FILE="$DIR/my.cnf"
OS_USER="$(id -un)"

install_service() {
  if command -v mariadbd >/dev/null && command -v mariadb-install-db >/dev/null; then return 0; fi
  log "installing mariadb-server from Debian"
  run_logged "$DIR/install.log" apt_install mariadb-server
  log "installed $(mariadbd --version)"
}

write_config() {
  cat >"$CONFIG_FILE" <<EOF
[client-server]
port = $SERVICE_PORT
socket = $DIR/mariadbd.sock

[mariadbd]
datadir = $DIR/data
bind-address = 127.0.0.1
skip-name-resolve
character-set-server = utf8mb4
# Throwaway data: a commit is not fsynced, but survives the server process being killed.
innodb_flush_log_at_trx_commit = 2
EOF
}

# The first start initialises the data folder; the OS user is the server's administrator
# through the socket, so no password is needed to provision.
initialise_data() {
  log "initialising $DIR/data"
  rm -rf "$DIR/data.partial"
  run_logged "$DIR/install-db.log" mariadb-install-db --defaults-file="$CONFIG_FILE" --datadir="$DIR/data.partial" \
    --user="$OS_USER" --auth-root-authentication-method=socket --skip-test-db
  mv "$DIR/data.partial" "$DIR/data"
}

admin_sql() { mariadb --defaults-file="$CONFIG_FILE" --user="$OS_USER" --batch --execute="$1"; }
# A MySQL string literal: backslashes and single quotes escaped.
sql_string() {
  local text="${1//\\/\\\\}"
  printf "'%s'" "${text//\'/\'\'}"
}

# Idempotent, like the official image's first start: the database, its user with every privilege
# on it and on `<database>_test*` (throwaway databases of the tests), root's password, and Grafana's
# user with SELECT on the database only. Runs on every start, also on a server already running.
provision() {
  local database="\`$MYSQL_DATABASE\`" user password test_databases reader reader_password
  user="$(sql_string "$MYSQL_USER")@'%'"
  password="$(sql_string "$MYSQL_PASSWORD")"
  reader="$(sql_string "$GRAFANA_MYSQL_USER")@'%'"
  reader_password="$(sql_string "$GRAFANA_MYSQL_PASSWORD")"
  test_databases="\`$(printf '%s' "$MYSQL_DATABASE" | sed 's/[_%]/\\&/g')\\_test%\`"
  admin_sql "
    CREATE DATABASE IF NOT EXISTS $database CHARACTER SET utf8mb4;
    CREATE USER IF NOT EXISTS $user IDENTIFIED BY $password;
    ALTER USER $user IDENTIFIED BY $password;
    GRANT ALL PRIVILEGES ON $database.* TO $user;
    GRANT ALL PRIVILEGES ON $test_databases.* TO $user;
    CREATE USER IF NOT EXISTS root@'%' IDENTIFIED BY $(sql_string "$MYSQL_ROOT_PASSWORD");
    ALTER USER root@'%' IDENTIFIED BY $(sql_string "$MYSQL_ROOT_PASSWORD");
    GRANT ALL PRIVILEGES ON *.* TO root@'%' WITH GRANT OPTION;
    CREATE USER IF NOT EXISTS $reader IDENTIFIED BY $reader_password;
    ALTER USER $reader IDENTIFIED BY $reader_password;
    GRANT SELECT ON $database.* TO $reader;"
}

is_alive() { mariadb-admin --defaults-file="$CONFIG_FILE" --user="$OS_USER" ping; }

is_healthy() {
  MYSQL_PWD="$MYSQL_PASSWORD" mariadb --no-defaults --protocol=TCP --host=127.0.0.1 --port="$SERVICE_PORT" \
    --user="$MYSQL_USER" --batch --execute='SELECT 1' "$MYSQL_DATABASE" >/dev/null
}

start_service() {
  write_config
  [ -d "$DIR/data/mysql" ] || initialise_data
  launch_server mariadbd --defaults-file="$CONFIG_FILE" --user="$OS_USER"
  wait_until "${START_TIMEOUT_SECONDS:-60}" "answer to mariadb-admin ping" is_alive
  provision || fail_with_log "could not create the database and user"
  wait_until 10 "login as $MYSQL_USER" is_healthy
}

service_url() {
  echo "mysql://$(url_encode "$MYSQL_USER"):$(url_encode "$MYSQL_PASSWORD")@127.0.0.1:$SERVICE_PORT/$(url_encode "$MYSQL_DATABASE")"
}

# What Grafana's MySQL datasource logs in as.
grafana_url() {
  echo "mysql://$(url_encode "$GRAFANA_MYSQL_USER"):$(url_encode "$GRAFANA_MYSQL_PASSWORD")@127.0.0.1:$SERVICE_PORT/$(url_encode "$MYSQL_DATABASE")"
}

run_service_command "$@"
