import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InfluxqlClient } from '../../core/stores/influx/influxqlClient.js';
import { parseInfluxUrl, type InfluxLocation } from '../../core/stores/influx/influxLocation.js';
import { knexFromUrl } from '../../core/stores/sql/knexFromUrl.js';
import { SqlRegistry } from '../../core/stores/sql/sqlRegistry.js';
import { productionUrls, serversMissing } from '../support/productionServices.js';

/*
 * Grafana's datasources log in as read-only users (deploy/mysql/init/, deploy/influxdb/init/ for docker compose;
 * scripts/services/mariadb.sh and influxdb.sh create the same users on the test servers). Against the real MariaDB
 * and InfluxDB: what Grafana reads it can read, and a write with its credentials is refused.
 */

function grafanaUrls(): { registryUrl: string; measurementsUrl: string } | undefined {
  const urls = {
    registryUrl: process.env.PRODUCTION_GRAFANA_REGISTRY_URL,
    measurementsUrl: process.env.PRODUCTION_GRAFANA_MEASUREMENTS_URL,
  };
  if (urls.registryUrl && urls.measurementsUrl) return urls as { registryUrl: string; measurementsUrl: string };
  return serversMissing('Grafana read-only user suite', 'PRODUCTION_GRAFANA_REGISTRY_URL / PRODUCTION_GRAFANA_MEASUREMENTS_URL unset');
}

const app = productionUrls();
const grafana = grafanaUrls();

describe.runIf(app && grafana)("Grafana's read-only users on the real servers", () => {
  describe('MariaDB (registry datasource)', () => {
    // Writes are tried on a scratch table of this run only, so even read-write credentials could not harm the registry.
    const scratch = `grafana_reader_check_${randomUUID().replaceAll('-', '')}`;
    let owner: Knex;
    let reader: Knex;
    beforeAll(async () => {
      const registry = await SqlRegistry.open(app!.registryUrl); // as the API: the tables the dashboards read exist
      await registry.close();
      owner = knexFromUrl(app!.registryUrl);
      reader = knexFromUrl(grafana!.registryUrl);
      await owner.schema.createTable(scratch, (t) => {
        t.integer('id').primary();
        t.string('note', 32);
      });
      await owner(scratch).insert({ id: 1, note: 'written by the API user' });
    });
    afterAll(async () => {
      await reader?.destroy();
      if (!owner) return;
      await owner.schema.dropTableIfExists(scratch);
      await owner.schema.dropTableIfExists(`${scratch}_new`);
      await owner.destroy();
    });

    it('reads the tables the system dashboard shows, and what the API user wrote', async () => {
      for (const table of ['model_versions', 'retrain_requests']) {
        const [row] = await reader(table).count({ n: '*' });
        expect(Number(row!.n)).toBeGreaterThanOrEqual(0);
      }
      expect(await reader(scratch).select('id', 'note')).toEqual([{ id: 1, note: 'written by the API user' }]);
    });

    it.each([
      ['INSERT', () => reader(scratch).insert({ id: 2, note: 'grafana' })],
      ['UPDATE', () => reader(scratch).update({ note: 'grafana' })],
      ['DELETE', () => reader(scratch).delete()],
      ['DROP', () => reader.schema.dropTable(scratch)],
      ['CREATE', () => reader.schema.createTable(`${scratch}_new`, (t) => t.integer('id'))],
    ])('refuses %s', async (_statement, write) => {
      await expect(write()).rejects.toMatchObject({ code: expect.stringMatching(/^ER_(TABLEACCESS|DBACCESS)_DENIED_ERROR$/) });
      expect(await owner(scratch).select('id', 'note')).toEqual([{ id: 1, note: 'written by the API user' }]);
    });
  });

  describe('InfluxDB (measurements datasource)', () => {
    const measurement = `grafana_reader_check_${randomUUID().replaceAll('-', '')}`;
    let writer: InfluxLocation;
    let reader: InfluxLocation;
    beforeAll(() => {
      writer = parseInfluxUrl(app!.measurementsUrl);
      reader = parseInfluxUrl(grafana!.measurementsUrl);
    });

    /** A v1 `/write` with user and password, as InfluxQL clients (and Grafana's credentials) would send it. */
    const writeV1 = (where: InfluxLocation, line: string) =>
      fetch(
        `${where.url}/write?${new URLSearchParams({ db: where.database, rp: where.retentionPolicy, u: where.user!, p: where.password! })}`,
        {
          method: 'POST',
          body: line,
        },
      );
    /** A v2 write with `Token user:password`, which InfluxDB 2.x accepts for v1 users. */
    const writeV2 = (where: InfluxLocation, token: string, line: string) =>
      fetch(`${where.url}/api/v2/write?${new URLSearchParams({ org: where.org, bucket: where.bucket })}`, {
        method: 'POST',
        headers: { authorization: `Token ${token}` },
        body: line,
      });

    afterAll(async () => {
      if (!writer) return;
      // The admin token (the API's URL carries it) deletes the check's points.
      await fetch(`${writer.url}/api/v2/delete?${new URLSearchParams({ org: writer.org, bucket: writer.bucket })}`, {
        method: 'POST',
        headers: { authorization: `Token ${writer.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ start: '1970-01-01T00:00:00Z', stop: '2100-01-01T00:00:00Z', predicate: `_measurement="${measurement}"` }),
      });
    });

    it('reads with InfluxQL what the API wrote, and cannot write itself', async () => {
      const written = await writeV2(writer, writer.token, `${measurement} value=1`);
      expect(written.status).toBe(204);

      const series = await new InfluxqlClient(reader).query(`SELECT count("value") FROM "${measurement}"`);
      expect(series[0]?.rows[0]).toMatchObject({ count: 1 });

      const v1 = await writeV1(reader, `${measurement} value=2`);
      expect(v1.status).toBe(403);
      const v2 = await writeV2(reader, `${reader.user}:${reader.password}`, `${measurement} value=3`);
      expect(v2.status).toBe(401);
      const afterwards = await new InfluxqlClient(reader).query(`SELECT count("value") FROM "${measurement}"`);
      expect(afterwards[0]?.rows[0]).toMatchObject({ count: 1 });
    });

    it('the same v1 write with the API user succeeds (the refusal is about permissions, not the request)', async () => {
      const response = await writeV1(writer, `${measurement} value=4`);
      expect(response.status).toBe(204);
    });
  });
});
