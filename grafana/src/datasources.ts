import type { DataSourceRef } from '@grafana/grafana-foundation-sdk/dashboard';

/** Measurements in InfluxDB, read with InfluxQL (the API writes them; see core/stores). */
export const INFLUXDB: DataSourceRef = { type: 'influxdb', uid: 'influxdb' };
/** The model registry in MySQL: retrain requests, model versions. */
export const REGISTRY: DataSourceRef = { type: 'mysql', uid: 'registry' };

/**
 * `grafana/provisioning/datasources/`. Grafana replaces `$NAME` with its environment (docker compose passes the
 * names of `.env.example`); `$NAME`, not `${NAME}`, which Grafana expands twice, so a `$` inside a password would be
 * taken for another variable. The users are read-only (deploy/mysql/init/, deploy/influxdb/init/): no dashboard,
 * Explore query or Editor can change the registry or the measurements. The host names are the compose services.
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
    ],
  };
}
