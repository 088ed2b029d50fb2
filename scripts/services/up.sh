#!/usr/bin/env bash
# Installs (when needed) and starts, in parallel, every server the tests run against, then writes
# $SERVICES_DIR/env with the PRODUCTION_*_URL settings that point the stores at them, and the
# PRODUCTION_GRAFANA_*_URL of the read-only users Grafana's datasources log in as
# (`source .services/env`). While they are up, a second run checks and provisions them again.
set -euo pipefail
SERVICE=up
source "$(dirname "$0")/lib.sh"
SCRIPTS_DIR="$REPO_DIR/scripts/services"

declare -A URL_SETTING=(
  [mariadb]=PRODUCTION_REGISTRY_URL
  [versitygw]=PRODUCTION_OBJECTS_URL
  [influxdb]=PRODUCTION_MEASUREMENTS_URL
)
declare -A GRAFANA_URL_SETTING=(
  [mariadb]=PRODUCTION_GRAFANA_REGISTRY_URL
  [influxdb]=PRODUCTION_GRAFANA_MEASUREMENTS_URL
)
services=(mariadb versitygw)
if [ -f "$SCRIPTS_DIR/influxdb.sh" ]; then
  services+=(influxdb)
else
  log "WARNING: $SCRIPTS_DIR/influxdb.sh does not exist yet; skipping InfluxDB"
fi

# One service's install and start, timed into $SERVICES_DIR/<service>/up-times.
install_and_start() {
  local service="$1" started install_seconds
  mkdir -p "$(service_dir "$service")"
  started="$(now)"
  bash "$SCRIPTS_DIR/$service.sh" install
  install_seconds="$(seconds_since "$started")"
  started="$(now)"
  bash "$SCRIPTS_DIR/$service.sh" start
  echo "$install_seconds $(seconds_since "$started")" >"$(service_dir "$service")/up-times"
}

started="$(now)"
declare -A lane_pid
for service in "${services[@]}"; do
  rm -f "$(service_dir "$service")/up-times"
  install_and_start "$service" &
  lane_pid[$service]=$!
done
failed=()
for service in "${services[@]}"; do
  wait "${lane_pid[$service]}" || failed+=("$service")
done
if [ ${#failed[@]} -gt 0 ]; then
  log "ERROR: could not install or start: ${failed[*]} (see the messages above; 'bash scripts/services/down.sh' stops the rest)" >&2
  exit 1
fi

env_file="$SERVICES_DIR/env"
{
  echo "# Written by scripts/services/up.sh: the stores' URLs for the servers it started."
  for service in "${services[@]}"; do
    printf 'export %s=%q\n' "${URL_SETTING[$service]}" "$(bash "$SCRIPTS_DIR/$service.sh" url)"
    if [ -n "${GRAFANA_URL_SETTING[$service]:-}" ]; then
      printf 'export %s=%q\n' "${GRAFANA_URL_SETTING[$service]}" "$(bash "$SCRIPTS_DIR/$service.sh" grafana-url)"
    fi
  done
} >"$env_file.partial"
mv "$env_file.partial" "$env_file"

printf '%-10s %9s %9s  %s\n' service install start setting
for service in "${services[@]}"; do
  read -r install_seconds start_seconds <"$(service_dir "$service")/up-times"
  printf '%-10s %7s s %7s s  %s\n' "$service" "$install_seconds" "$start_seconds" "${URL_SETTING[$service]}"
done
log "all up in $(seconds_since "$started") s; settings in $env_file"
