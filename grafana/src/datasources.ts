import type { DataSourceRef } from '@grafana/grafana-foundation-sdk/dashboard';

/** Measurements in InfluxDB, read with InfluxQL (the API writes them; see core/stores). */
export const INFLUXDB: DataSourceRef = { type: 'influxdb', uid: 'influxdb' };
/** The model registry in MySQL: retrain requests, model versions. */
export const REGISTRY: DataSourceRef = { type: 'mysql', uid: 'registry' };
/** The API's and workers' own metrics, scraped by Prometheus (docs/METRICS.md). */
export const PROMETHEUS: DataSourceRef = { type: 'prometheus', uid: 'prometheus' };

/**
 * `grafana/provisioning/datasources/`. Grafana replaces `$NAME` with its environment (docker compose passes the
 * names of `.env.example`); `$NAME`, not `${NAME}`, which Grafana expands twice, so a `$` inside a password would be
 * taken for another variable. The users are read-only (deploy/mysql/init/, deploy/influxdb/init/): no dashboard,
 * Explore query or Editor can change the registry or the measurements. Prometheus has no login (compose publishes it on
 * loopback only) and its query API cannot write. The host names are the compose services.
 */
export function datasourcesProvisioning() {
  return {
    apiVersion: 1,
    datasources: [
      {
        name: 'Measurements (InfluxDB)',
        uid: INFLUXDB.uid,
        type: INFLUXDB.type,
        access: 'proxy',
        url: 'http://influxdb:8086',
        user: '$GRAFANA_INFLUXDB_USER',
        isDefault: true,
        editable: false,
        jsonData: { version: 'InfluxQL', dbName: '$INFLUXDB_DATABASE', httpMode: 'POST' },
        secureJsonData: { password: '$GRAFANA_INFLUXDB_PASSWORD' },
      },
      {
        name: 'Registry (MySQL)',
        uid: REGISTRY.uid,
        type: REGISTRY.type,
        access: 'proxy',
        url: 'mysql:3306',
        user: '$GRAFANA_MYSQL_USER',
        editable: false,
        jsonData: { database: '$MYSQL_DATABASE' },
        secureJsonData: { password: '$GRAFANA_MYSQL_PASSWORD' },
      },
      {
        name: 'Metrics (Prometheus)',
        uid: PROMETHEUS.uid,
        type: PROMETHEUS.type,
        access: 'proxy',
        url: 'http://prometheus:9090',
        editable: false,
        jsonData: { httpMethod: 'POST', timeInterval: '15s' },
      },
    ],
  };
}
