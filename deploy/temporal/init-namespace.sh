#!/bin/sh
# Registers the namespace the API and workers use and the custom search attributes that make
# TrainAndRegister runs findable by model and trigger (TEMPORAL_SEARCH_ATTRIBUTES: "Name=Type ...";
# the dev server gets the same through `--search-attribute`, see scripts/serve.ts).
# Idempotent: only what is missing is created. Runs in temporalio/admin-tools (POSIX sh, no bash);
# docker compose service `temporal-init` (restart: on-failure), once the server's port is open.
# The server accepts connections before it can serve every call, so each step retries transient
# errors until INIT_DEADLINE_SECONDS after the start; only "not found" means "create it".
set -eu

: "${TEMPORAL_ADDRESS:?}" "${TEMPORAL_NAMESPACE:?}" "${TEMPORAL_SEARCH_ATTRIBUTES:?}"
export TEMPORAL_ADDRESS
deadline=$(($(date +%s) + ${INIT_DEADLINE_SECONDS:-180}))

log() { echo "[temporal-init] $*"; }

# give_up_after_deadline <what> <last output>: returns while time is left (after a pause), exits otherwise.
give_up_after_deadline() {
  if [ "$(date +%s)" -ge "$deadline" ]; then
    log "ERROR: $1 failed until the deadline; last answer from $TEMPORAL_ADDRESS:" >&2
    printf '%s\n' "$2" >&2
    exit 1
  fi
  sleep 2
}

# until_ok <what> <command...>: runs the command until it succeeds.
until_ok() {
  what="$1"
  shift
  until output="$("$@" 2>&1)"; do
    give_up_after_deadline "$what" "$output"
  done
}

is_not_found() { printf '%s' "$1" | grep -qi 'not found'; }
is_already_there() { printf '%s' "$1" | grep -qiE 'already (exists|registered)'; }

until_ok "cluster health" temporal operator cluster health

while :; do
  if output="$(temporal operator namespace describe --namespace "$TEMPORAL_NAMESPACE" 2>&1)"; then
    log "namespace $TEMPORAL_NAMESPACE exists"
    break
  fi
  if is_not_found "$output"; then
    if output="$(temporal operator namespace create --namespace "$TEMPORAL_NAMESPACE" --retention 720h 2>&1)" ||
      is_already_there "$output"; then
      log "namespace $TEMPORAL_NAMESPACE created"
      break
    fi
  fi
  give_up_after_deadline "namespace $TEMPORAL_NAMESPACE" "$output"
done

# A new namespace reaches the server's namespace cache a few seconds after it is created.
until_ok "search attribute list of $TEMPORAL_NAMESPACE" \
  temporal operator search-attribute list --namespace "$TEMPORAL_NAMESPACE" --output json
existing="$output"
probe=""
for pair in $TEMPORAL_SEARCH_ATTRIBUTES; do
  name="${pair%%=*}"
  type="${pair#*=}"
  probe="${probe:+$probe AND }$name = 'temporal-init'"
  if printf '%s' "$existing" | grep -q "\"$name\""; then
    log "search attribute $name exists"
    continue
  fi
  while ! output="$(temporal operator search-attribute create --namespace "$TEMPORAL_NAMESPACE" --name "$name" --type "$type" 2>&1)"; do
    is_already_there "$output" && break
    give_up_after_deadline "creating search attribute $name" "$output"
  done
  log "search attribute $name ($type) created"
done

# Starting a workflow with a search attribute the frontend's cache does not know yet fails, so wait
# until a visibility query that names every attribute is accepted.
until_ok "a workflow query on the search attributes" \
  temporal workflow list --namespace "$TEMPORAL_NAMESPACE" --query "$probe" --limit 1
log "search attributes usable: $TEMPORAL_SEARCH_ATTRIBUTES"
