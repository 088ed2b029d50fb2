import type { DataSourceRef } from '@grafana/grafana-foundation-sdk/dashboard';

/** Measurements in InfluxDB, read with InfluxQL (the API writes them; see core/stores). */
export const INFLUXDB: DataSourceRef = { type: 'influxdb', uid: 'influxdb' };
/** The model registry in MySQL: retrain requests, model versions. */
export const REGISTRY: DataSourceRef = { type: 'mysql', uid: 'registry' };

/**
 * `grafana/provisioning/datasources/`. Grafana replaces `${NAME}` with its environment (docker compose passes the
 * names of `.env.example`); the host names are the compose services.
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
        user: '${INFLUXDB_USER}',
        isDefault: true,
        editable: false,
        jsonData: { version: 'InfluxQL', dbName: '${INFLUXDB_DATABASE}', httpMode: 'POST' },
        secureJsonData: { password: '${INFLUXDB_PASSWORD}' },
      },
      {
        name: 'Registry (MySQL)',
        uid: REGISTRY.uid,
        type: REGISTRY.type,
        access: 'proxy',
        url: 'mysql:3306',
        user: '${MYSQL_USER}',
        editable: false,
        jsonData: { database: '${MYSQL_DATABASE}' },
        secureJsonData: { password: '${MYSQL_PASSWORD}' },
      },
    ],
  };
}
