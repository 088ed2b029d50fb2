#!/bin/bash
# Grafana's MySQL user: SELECT on the registry database and nothing else, so no dashboard, Explore query
# or Editor can change retrain_requests or model_versions. The mariadb image runs this once, on the first
# start, after it has created MYSQL_DATABASE and set the root password; idempotent, so on an older volume:
#   docker compose exec mysql bash /docker-entrypoint-initdb.d/grafana-reader.sh
# Runs in a subshell: the image may source this file into its own entrypoint.
(
  set -euo pipefail
  : "${MYSQL_DATABASE:?}" "${MYSQL_ROOT_PASSWORD:?}" "${GRAFANA_MYSQL_USER:?}" "${GRAFANA_MYSQL_PASSWORD:?}"
  # A MySQL string literal: backslashes and single quotes escaped.
  sql_string() {
    local text="${1//\\/\\\\}"
    printf "'%s'" "${text//\'/\'\'}"
  }
  user="$(sql_string "$GRAFANA_MYSQL_USER")@'%'"
  password="$(sql_string "$GRAFANA_MYSQL_PASSWORD")"
  # In GRANT, _ in a database name is a wildcard (the image escapes it the same way for MYSQL_USER).
  database="\`${MYSQL_DATABASE//_/\\_}\`"
  MYSQL_PWD="$MYSQL_ROOT_PASSWORD" mysql --protocol=socket --user=root --batch <<SQL
CREATE USER IF NOT EXISTS $user IDENTIFIED BY $password;
ALTER USER $user IDENTIFIED BY $password;
GRANT SELECT ON $database.* TO $user;
SQL
  echo "[mysql-init] $GRAFANA_MYSQL_USER can read (SELECT only) $MYSQL_DATABASE"
)
