#!/bin/sh
# The prometheus service's entrypoint (docker-compose.yml): writes the scrape configuration with the ports of .env,
# then runs Prometheus on it.
set -eu
worker_port="${WORKER_METRICS_ADDRESS##*:}"
sed -e "s/@API_PORT@/${API_PORT}/" -e "s/@WORKER_METRICS_PORT@/${worker_port}/" /etc/prometheus/prometheus.yml.in >/prometheus/prometheus.yml
exec /bin/prometheus --config.file=/prometheus/prometheus.yml --storage.tsdb.path=/prometheus --storage.tsdb.retention.time=15d
