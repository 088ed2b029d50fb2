#!/bin/sh
# Entrypoint of the API and worker image (Dockerfile): exports the store URLs that storeUrls.ts builds, with every
# secret percent-encoded, from the separate settings docker-compose.yml passes; then runs the command in its place,
# so that SIGTERM reaches it.
set -eu
exports="$(node --import tsx "$(dirname "$0")/storeUrls.ts")"
eval "$exports"
exec "$@"
