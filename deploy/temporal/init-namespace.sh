#!/bin/sh
# Registers the namespace the API and workers use and the custom search attributes that make
# TrainAndRegister runs findable by model and trigger (TEMPORAL_SEARCH_ATTRIBUTES: "Name=Type ...";
# the dev server gets the same through `--search-attribute`, see scripts/serve.ts).
# Idempotent: only what is missing is created. Runs in temporalio/admin-tools (POSIX sh, no bash);
# docker compose service `temporal-init`, once the server's port is open.
set -eu

: "${TEMPORAL_ADDRESS:?}" "${TEMPORAL_NAMESPACE:?}" "${TEMPORAL_SEARCH_ATTRIBUTES:?}"
export TEMPORAL_ADDRESS

# retry <what> <command...>: the server answers some calls only a few seconds after its port opens,
# and a new namespace only once its cache has caught up.
retry() {
  what="$1"
  shift
  attempt=1
  until "$@" >/dev/null 2>&1; do
    if [ "$attempt" -ge 60 ]; then
      echo "[temporal-init] ERROR: no $what from $TEMPORAL_ADDRESS after $attempt attempts:" >&2
      "$@"
      exit 1
    fi
    attempt=$((attempt + 1))
    sleep 2
  done
}

retry "healthy cluster" temporal operator cluster health

if temporal operator namespace describe --namespace "$TEMPORAL_NAMESPACE" >/dev/null 2>&1; then
  echo "[temporal-init] namespace $TEMPORAL_NAMESPACE exists"
else
  temporal operator namespace create --namespace "$TEMPORAL_NAMESPACE" --retention 720h
  echo "[temporal-init] namespace $TEMPORAL_NAMESPACE created"
fi

retry "search attribute list of $TEMPORAL_NAMESPACE" temporal operator search-attribute list --namespace "$TEMPORAL_NAMESPACE"
existing="$(temporal operator search-attribute list --namespace "$TEMPORAL_NAMESPACE" --output json)"
for pair in $TEMPORAL_SEARCH_ATTRIBUTES; do
  name="${pair%%=*}"
  type="${pair#*=}"
  if printf '%s' "$existing" | grep -q "\"$name\""; then
    echo "[temporal-init] search attribute $name exists"
  else
    temporal operator search-attribute create --namespace "$TEMPORAL_NAMESPACE" --name "$name" --type "$type"
    echo "[temporal-init] search attribute $name ($type) created"
  fi
done
