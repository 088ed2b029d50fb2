# shellcheck shell=bash
# Shared by scripts/services/*.sh (sourced, not run): where each server keeps its data, log and
# pid file, the settings from .env.example, and starting, waiting for and stopping a server.

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SERVICES_DIR="$(realpath -m "${SERVICES_DIR:-$REPO_DIR/.services}")"
# shellcheck disable=SC2034 # read by the scripts that source this file
TOOLS_BIN="$REPO_DIR/.tools/bin"

# The names, users and passwords the production stack uses: one source for both.
set -a
# shellcheck source=../../.env.example
source "$REPO_DIR/.env.example"
set +a

service_dir() { echo "$SERVICES_DIR/$1"; }
service_log() { echo "$SERVICES_DIR/$1/server.log"; }
service_pid_file() { echo "$SERVICES_DIR/$1/server.pid"; }

log() { echo "[$SERVICE] $*"; }

now() { date +%s.%N; }
seconds_since() { awk -v start="$1" -v end="$(now)" 'BEGIN { printf "%.1f", end - start }'; }

# Prints the pid of the running server, or fails when there is none. A pid file left by a server
# that died (or a pid reused by another program after a reboot) does not count.
running_pid() {
  local pid_file pid
  pid_file="$(service_pid_file "$SERVICE")"
  [ -s "$pid_file" ] || return 1
  pid="$(cat "$pid_file")"
  [ "$(ps -p "$pid" -o comm= 2>/dev/null)" = "$SERVER_COMMAND" ] || return 1
  echo "$pid"
}

# run_logged <log file> <command...>: runs a quiet-on-success step (a package install, a build),
# showing the end of its output only when it fails.
run_logged() {
  local log_file="$1"
  shift
  mkdir -p "$(dirname "$log_file")"
  if ! "$@" >"$log_file" 2>&1; then
    echo "[$SERVICE] ERROR: '$*' failed; last lines of $log_file:" >&2
    tail -n 40 "$log_file" | sed "s/^/[$SERVICE]   /" >&2
    exit 1
  fi
}

# Installs Debian packages. Installs run in parallel (up.sh) and apt takes no second caller, so
# they queue on one machine-wide lock file.
apt_install() {
  (
    flock 9
    DEBIAN_FRONTEND=noninteractive apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"
  ) 9>"${TMPDIR:-/tmp}/scripts-services-apt.lock"
}

port_is_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

fail_with_log() {
  local log_file
  log_file="$(service_log "$SERVICE")"
  echo "[$SERVICE] ERROR: $*" >&2
  if [ -s "$log_file" ]; then
    echo "[$SERVICE] last lines of $log_file since the last start:" >&2
    awk '/^=== .* start: / { lines = "" } { lines = lines $0 "\n" } END { printf "%s", lines }' "$log_file" |
      tail -n 40 | sed "s/^/[$SERVICE]   /" >&2
  fi
  exit 1
}

# Starts "$@" in a session of its own, so a Ctrl-C in the caller's terminal does not reach it,
# appending to the service log. A script's background child never leads a process group, so
# setsid execs in place and $! is the server's pid.
launch_server() {
  local log_file
  log_file="$(service_log "$SERVICE")"
  echo "=== $(date -u +%FT%TZ) start: $*" >>"$log_file"
  setsid "$@" </dev/null >>"$log_file" 2>&1 &
  echo $! >"$(service_pid_file "$SERVICE")"
}

# A zombie is not running: orphans whose parent has not reaped them yet show up as zombies.
process_running() {
  local state
  state="$(ps -p "$1" -o stat= 2>/dev/null)" && [[ "$state" != Z* ]]
}

server_process_alive() { process_running "$(cat "$(service_pid_file "$SERVICE")")"; }

# wait_until <timeout seconds> <what> <command...>: polls the command until it succeeds; fails
# (with the server log) on time-out or as soon as the server process is gone.
wait_until() {
  local timeout="$1" what="$2" deadline
  shift 2
  deadline=$(($(date +%s) + timeout))
  until "$@" >/dev/null 2>&1; do
    server_process_alive || fail_with_log "the server exited while waiting for $what"
    [ "$(date +%s)" -lt "$deadline" ] || fail_with_log "no $what after ${timeout} s"
    sleep 0.2
  done
}

# Stops the server with SIGTERM (a clean shutdown for every server here) and waits until it is gone.
stop_server() {
  local pid deadline started
  if ! pid="$(running_pid)"; then
    rm -f "$(service_pid_file "$SERVICE")"
    log "not running"
    return 0
  fi
  started="$(now)"
  kill -TERM "$pid"
  deadline=$(($(date +%s) + ${STOP_TIMEOUT_SECONDS:-60}))
  while process_running "$pid"; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      log "WARNING: still running ${STOP_TIMEOUT_SECONDS:-60} s after SIGTERM; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    sleep 0.1
  done
  rm -f "$(service_pid_file "$SERVICE")"
  log "stopped in $(seconds_since "$started") s"
}

# Percent-encodes one URL component (user, password, path segment).
url_encode() {
  local LC_ALL=C text="$1" encoded="" char i
  for ((i = 0; i < ${#text}; i++)); do
    char="${text:i:1}"
    case "$char" in
      [a-zA-Z0-9.~_-]) encoded+="$char" ;;
      *) encoded+="$(printf '%%%02X' "'$char")" ;;
    esac
  done
  echo "$encoded"
}

# Dispatches `<script> install|start|stop|restart|status|provision|url|grafana-url` to the service's
# functions (install_service, start_service, is_healthy, service_url; SERVICE_PORT; provision and
# grafana_url where the service has users). Starting a server that is already running provisions it
# again (idempotent), so users added to a script reach a running server without a restart.
run_service_command() {
  case "${1:-}" in
    install) install_service ;;
    start)
      mkdir -p "$(service_dir "$SERVICE")"
      local started pid
      started="$(now)"
      if pid="$(running_pid)"; then
        wait_until "${START_TIMEOUT_SECONDS:-60}" "answer from the running server (pid $pid)" is_healthy
        if declare -F provision >/dev/null; then provision || fail_with_log "could not provision the running server"; fi
        log "already running (pid $pid)"
        return 0
      fi
      if port_is_open "$SERVICE_PORT"; then
        echo "[$SERVICE] ERROR: port $SERVICE_PORT on 127.0.0.1 is taken by another program" >&2
        return 1
      fi
      start_service
      echo "$SERVICE ready in $(seconds_since "$started") s"
      ;;
    stop) stop_server ;;
    restart)
      stop_server
      run_service_command start
      ;;
    status)
      local pid
      pid="$(running_pid)" || { log "not running"; return 1; }
      is_healthy || { log "running (pid $pid) but not answering"; return 1; }
      log "running (pid $pid): $(service_url)"
      ;;
    provision)
      running_pid >/dev/null || { log "not running"; return 1; }
      if declare -F provision >/dev/null; then provision; fi
      ;;
    url) service_url ;;
    grafana-url) if declare -F grafana_url >/dev/null; then grafana_url; fi ;;
    *)
      echo "usage: $0 install|start|stop|restart|status|provision|url|grafana-url" >&2
      return 2
      ;;
  esac
}
