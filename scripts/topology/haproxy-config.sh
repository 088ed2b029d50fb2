#!/usr/bin/env bash
# Prints HAProxy's config for API replicas on loopback (scripts/topology/up.sh, test/support/topology.ts):
# round robin over the replicas, each checked with GET /readyz every 500 ms (250 ms while its state
# changes): 2 failed checks take it out of rotation, 2 passed ones bring it back. A request whose
# connection to a replica fails (nothing sent yet) is retried once on another (`retries` + `option
# redispatch`); a request that reached a replica is never retried, as the replica may have acted on it
# (a frame spooled, a registration made). HAProxy's own view of the replicas: GET /haproxy-stats
# (`;csv` for a program).
# Usage: haproxy-config.sh <listen port> <name>=<port>...
set -euo pipefail
[ $# -ge 2 ] || {
  echo "usage: $0 <listen port> <name>=<port>..." >&2
  exit 2
}
listen_port="$1"
shift
cat <<EOC
# Written by scripts/topology/haproxy-config.sh
global
  maxconn 2048

defaults
  mode http
  timeout connect 2s
  timeout client 180s
  timeout server 180s
  timeout http-request 30s
  retries 1
  option redispatch
  option forwardfor

frontend apis
  bind 127.0.0.1:$listen_port
  stats enable
  stats uri /haproxy-stats
  default_backend apis

backend apis
  balance roundrobin
  option httpchk GET /readyz
  http-check expect status 200
  default-server check inter 500ms fastinter 250ms downinter 500ms fall 2 rise 2
EOC
for replica in "$@"; do
  echo "  server ${replica%%=*} 127.0.0.1:${replica#*=}"
done
