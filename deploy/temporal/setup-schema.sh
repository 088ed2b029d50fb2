#!/bin/sh
# Creates Temporal's two PostgreSQL databases (history and visibility) and brings their schemas to
# the version of the admin-tools image. Idempotent: `create` skips an existing database,
# `setup-schema -v 0.0` skips a database already past 0.0, `update-schema` applies only what is new.
# Runs in temporalio/admin-tools (POSIX sh, no bash; the password comes from SQL_PASSWORD);
# docker compose service `temporal-schema`; scripts/services/temporal.sh runs it outside the image
# with the tool, schema folder and port of its own install (the defaults are the image's).
# TEMPORAL_DATABASE and TEMPORAL_VISIBILITY_DATABASE name the two databases (defaults temporal, temporal_visibility).
set -eu

: "${POSTGRES_SEEDS:?}" "${POSTGRES_USER:?}" "${SQL_PASSWORD:?}"
SCHEMA_DIR="${SCHEMA_DIR:-/etc/temporal/schema/postgresql/v12}"
POSTGRES_PORT="${POSTGRES_PORT:-5432}"
SQL_TOOL="${SQL_TOOL:-temporal-sql-tool}"

sql_tool() {
  "$SQL_TOOL" --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "$POSTGRES_PORT" -u "$POSTGRES_USER" "$@"
}

setup_database() { # database, folder of its versioned schema under $SCHEMA_DIR
  echo "[temporal-schema] $1"
  sql_tool --db "$1" create
  sql_tool --db "$1" setup-schema -v 0.0
  sql_tool --db "$1" update-schema -d "$SCHEMA_DIR/$2"
}

setup_database "${TEMPORAL_DATABASE:-temporal}" temporal/versioned
setup_database "${TEMPORAL_VISIBILITY_DATABASE:-temporal_visibility}" visibility/versioned
echo "[temporal-schema] done"
