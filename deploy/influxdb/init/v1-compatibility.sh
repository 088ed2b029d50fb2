#!/bin/bash
# InfluxDB 2.x's v1 compatibility for InfluxQL (the API's queries, Grafana's datasource): maps
# database INFLUXDB_DATABASE / retention policy INFLUXDB_RETENTION_POLICY to the bucket the image's
# setup mode created, gives the v1 user INFLUXDB_USER (the API) read and write access to it, and
# GRAFANA_INFLUXDB_USER (Grafana's datasource) read access only.
# The influxdb:2.8 image runs this once, after its first-start setup, with the influx CLI
# configured as the admin (DOCKER_INFLUXDB_INIT_*). Idempotent all the same.
set -euo pipefail

: "${INFLUXDB_DATABASE:?}" "${INFLUXDB_RETENTION_POLICY:?}" "${INFLUXDB_USER:?}" "${INFLUXDB_PASSWORD:?}"
: "${GRAFANA_INFLUXDB_USER:?}" "${GRAFANA_INFLUXDB_PASSWORD:?}"
: "${DOCKER_INFLUXDB_INIT_BUCKET_ID:?}" "${DOCKER_INFLUXDB_INIT_ORG:?}"

if influx v1 dbrp list --org "$DOCKER_INFLUXDB_INIT_ORG" --db "$INFLUXDB_DATABASE" --rp "$INFLUXDB_RETENTION_POLICY" --json |
  grep -q "\"$DOCKER_INFLUXDB_INIT_BUCKET_ID\""; then
  echo "[influxdb-init] DBRP $INFLUXDB_DATABASE/$INFLUXDB_RETENTION_POLICY exists"
else
  influx v1 dbrp create --org "$DOCKER_INFLUXDB_INIT_ORG" --bucket-id "$DOCKER_INFLUXDB_INIT_BUCKET_ID" \
    --db "$INFLUXDB_DATABASE" --rp "$INFLUXDB_RETENTION_POLICY" --default
  echo "[influxdb-init] DBRP $INFLUXDB_DATABASE/$INFLUXDB_RETENTION_POLICY -> bucket $DOCKER_INFLUXDB_INIT_BUCKET_ID"
fi

# ensure_v1_user <user> <password> <description> <permission flags...>
ensure_v1_user() {
  local user="$1" password="$2" description="$3"
  shift 3
  if influx v1 auth list --org "$DOCKER_INFLUXDB_INIT_ORG" --username "$user" --json | grep -q "\"$user\""; then
    echo "[influxdb-init] v1 user $user exists"
  else
    influx v1 auth create --org "$DOCKER_INFLUXDB_INIT_ORG" --username "$user" --password "$password" \
      --description "$description" "$@"
    echo "[influxdb-init] v1 user $user: $* $DOCKER_INFLUXDB_INIT_BUCKET_ID"
  fi
}

ensure_v1_user "$INFLUXDB_USER" "$INFLUXDB_PASSWORD" "edge-mlops API (InfluxQL)" \
  --read-bucket "$DOCKER_INFLUXDB_INIT_BUCKET_ID" --write-bucket "$DOCKER_INFLUXDB_INIT_BUCKET_ID"
ensure_v1_user "$GRAFANA_INFLUXDB_USER" "$GRAFANA_INFLUXDB_PASSWORD" "Grafana datasource (InfluxQL, read only)" \
  --read-bucket "$DOCKER_INFLUXDB_INIT_BUCKET_ID"
