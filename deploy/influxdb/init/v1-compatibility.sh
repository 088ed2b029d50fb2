#!/bin/bash
# InfluxDB 2.x's v1 compatibility for InfluxQL (the API's queries, Grafana's datasource): maps
# database INFLUXDB_DATABASE / retention policy INFLUXDB_RETENTION_POLICY to the bucket the image's
# setup mode created, and gives the v1 user INFLUXDB_USER read and write access to it.
# The influxdb:2.7 image runs this once, after its first-start setup, with the influx CLI
# configured as the admin (DOCKER_INFLUXDB_INIT_*). Idempotent all the same.
set -euo pipefail

: "${INFLUXDB_DATABASE:?}" "${INFLUXDB_RETENTION_POLICY:?}" "${INFLUXDB_USER:?}" "${INFLUXDB_PASSWORD:?}"
: "${DOCKER_INFLUXDB_INIT_BUCKET_ID:?}" "${DOCKER_INFLUXDB_INIT_ORG:?}"

if influx v1 dbrp list --org "$DOCKER_INFLUXDB_INIT_ORG" --db "$INFLUXDB_DATABASE" --rp "$INFLUXDB_RETENTION_POLICY" --json |
  grep -q "\"$DOCKER_INFLUXDB_INIT_BUCKET_ID\""; then
  echo "[influxdb-init] DBRP $INFLUXDB_DATABASE/$INFLUXDB_RETENTION_POLICY exists"
else
  influx v1 dbrp create --org "$DOCKER_INFLUXDB_INIT_ORG" --bucket-id "$DOCKER_INFLUXDB_INIT_BUCKET_ID" \
    --db "$INFLUXDB_DATABASE" --rp "$INFLUXDB_RETENTION_POLICY" --default
  echo "[influxdb-init] DBRP $INFLUXDB_DATABASE/$INFLUXDB_RETENTION_POLICY -> bucket $DOCKER_INFLUXDB_INIT_BUCKET_ID"
fi

if influx v1 auth list --org "$DOCKER_INFLUXDB_INIT_ORG" --username "$INFLUXDB_USER" --json | grep -q "\"$INFLUXDB_USER\""; then
  echo "[influxdb-init] v1 user $INFLUXDB_USER exists"
else
  influx v1 auth create --org "$DOCKER_INFLUXDB_INIT_ORG" --username "$INFLUXDB_USER" --password "$INFLUXDB_PASSWORD" \
    --read-bucket "$DOCKER_INFLUXDB_INIT_BUCKET_ID" --write-bucket "$DOCKER_INFLUXDB_INIT_BUCKET_ID" \
    --description "edge-mlops API and Grafana (InfluxQL)"
  echo "[influxdb-init] v1 user $INFLUXDB_USER can read and write bucket $DOCKER_INFLUXDB_INIT_BUCKET_ID"
fi
