#!/usr/bin/env bash
# Installs (when needed) and starts, in parallel, every server the tests run against, then writes
# $SERVICES_DIR/env with the PRODUCTION_*_URL settings that point the stores at them, the
# PRODUCTION_GRAFANA_*_URL of the read-only users Grafana's datasources log in as, and
# TEMPORAL_SERVER_ADDRESS/NAMESPACE of Temporal's real server (`source .services/env`). PostgreSQL
# starts before Temporal, which keeps its data there; HAProxy is installed only (each topology runs
# its own). While they are up, a second run checks and provisions them again.
set -euo pipefail
SERVICE=up
source "$(dirname "$0")/lib.sh"
SCRIPTS_DIR="$REPO_DIR/scripts/services"

declare -A URL_SETTING=(
  [mariadb]=PRODUCTION_REGISTRY_URL
  [versitygw]=PRODUCTION_OBJECTS_URL
  [influxdb]=PRODUCTION_MEASUREMENTS_URL
  [temporal]=TEMPORAL_SERVER_ADDRESS
)
declare -A GRAFANA_URL_SETTING=(
  [mariadb]=PRODUCTION_GRAFANA_REGISTRY_URL
  [influxdb]=PRODUCTION_GRAFANA_MEASUREMENTS_URL
)
services=(mariadb versitygw postgres temporal)
# Started once the other has started (its lane waits for the other's).
declare -A START_AFTER=([temporal]=postgres)
if [ -f "$SCRIPTS_DIR/influxdb.sh" ]; then
  services+=(influxdb)
else
  log "WARNING: $SCRIPTS_DIR/influxdb.sh does not exist yet; skipping InfluxDB"
fi

# One service's install and start, timed into $SERVICES_DIR/<service>/up-times; the start waits
# for the file <after>/up-times (the other service started) when given an <after>.
install_and_start() {
  local service="$1" after="${2:-}" started install_seconds
  mkdir -p "$(service_dir "$service")"
  started="$(now)"
  bash "$SCRIPTS_DIR/$service.sh" install
  install_seconds="$(seconds_since "$started")"
  if [ -n "$after" ]; then
    while [ ! -f "$(service_dir "$after")/up-times" ]; do
      process_running "${lane_pid[$after]}" || {
        log "ERROR: $service not started: $after did not start" >&2
        return 1
      }
      sleep 0.2
    done
  fi
  started="$(now)"
  bash "$SCRIPTS_DIR/$service.sh" start
  echo "$install_seconds $(seconds_since "$started")" >"$(service_dir "$service")/up-times"
}

started="$(now)"
declare -A lane_pid
for service in "${services[@]}"; do rm -f "$(service_dir "$service")/up-times"; done
for service in "${services[@]}"; do
  install_and_start "$service" "${START_AFTER[$service]:-}" &
  lane_pid[$service]=$!
done
bash "$SCRIPTS_DIR/haproxy.sh" install &
lane_pid[haproxy]=$!
failed=()
for service in "${services[@]}" haproxy; do
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
    [ -n "${URL_SETTING[$service]:-}" ] || continue
    printf 'export %s=%q\n' "${URL_SETTING[$service]}" "$(bash "$SCRIPTS_DIR/$service.sh" url)"
    if [ -n "${GRAFANA_URL_SETTING[$service]:-}" ]; then
      printf 'export %s=%q\n' "${GRAFANA_URL_SETTING[$service]}" "$(bash "$SCRIPTS_DIR/$service.sh" grafana-url)"
    fi
  done
  printf 'export TEMPORAL_SERVER_NAMESPACE=%q\n' "$TEMPORAL_NAMESPACE"
  echo "# where the servers keep their pid files (scripts/services/<service>.sh restart from another checkout)"
  printf 'export SERVICES_DIR=%q\n' "$SERVICES_DIR"
} >"$env_file.partial"
mv "$env_file.partial" "$env_file"

printf '%-10s %9s %9s  %s\n' service install start setting
for service in "${services[@]}"; do
  read -r install_seconds start_seconds <"$(service_dir "$service")/up-times"
  printf '%-10s %7s s %7s s  %s\n' "$service" "$install_seconds" "$start_seconds" "${URL_SETTING[$service]:-}"
done
log "all up in $(seconds_since "$started") s; settings in $env_file"
