import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Knex } from 'knex';
import { afterAll, describe, expect, it } from 'vitest';
import { knexFromUrl } from '../../core/stores/sql/knexFromUrl.js';
import { migrateToLatest, type Migration } from '../../core/stores/sql/migrations.js';
import { SQLITE_BUSY_DEADLINE_SECONDS } from '../../core/stores/sql/sqliteClient.js';
import { withFreshMysqlDatabase } from '../support/freshMysqlDatabase.js';
import { productionUrls } from '../support/productionServices.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'migration-lock-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const urls = productionUrls();

/**
 * Migrations whose first one takes `slowMs` after its first change, as a large table change on a busy
 * server does (on MySQL the change commits knex's lock row, so others see the table locked).
 */
function slowMigrations(slowMs: number): Migration[] {
  return [
    {
      name: '0001_slow',
      async up(knex) {
        await knex.schema.createTable('items', (t) => t.increments('id'));
        await sleep(slowMs);
      },
      async down(knex) {
        await knex.schema.dropTable('items');
      },
    },
    {
      name: '0002_label',
      async up(knex) {
        await knex.schema.alterTable('items', (t) => t.string('label'));
      },
      async down(knex) {
        await knex.schema.alterTable('items', (t) => t.dropColumn('label'));
      },
    },
  ];
}

/** Two processes' worth of knex (separate pools) migrating one fresh database, the second starting while the first is busy. */
async function migrateTwice(url: string, slowMs: number, lockTimeoutSeconds: number) {
  const [first, second] = [knexFromUrl(url), knexFromUrl(url)];
  const migrate = (db: Knex) => migrateToLatest(db, 'lock_test_migrations', slowMigrations(slowMs), { lockTimeoutSeconds });
  try {
    const started = Date.now();
    const results = await Promise.allSettled([migrate(first), sleep(300).then(() => migrate(second))]);
    const applied = await first('lock_test_migrations').orderBy('id').pluck('name');
    return { results, applied, elapsedMs: Date.now() - started };
  } finally {
    await Promise.all([first.destroy(), second.destroy()]);
  }
}

// Longer than the ~9.5 s the fixed retries used to give up after.
const SLOW_MS = 12_000;

describe('migrations racing on a fresh database', () => {
  const cases: [string, (fn: (url: string) => Promise<void>) => Promise<void>, boolean][] = [
    ['SQLite', (fn) => fn(`sqlite:${path.join(dir, `db-${Math.random().toString(36).slice(2)}.db`)}`), true],
    ['MySQL', (fn) => withFreshMysqlDatabase(urls!.registryUrl, fn), urls !== undefined],
  ];

  for (const [name, onFreshDatabase, available] of cases) {
    it.runIf(available)(
      `${name}: the second process waits for a slow first migration and both succeed`,
      async () => {
        await onFreshDatabase(async (url) => {
          const { results, applied } = await migrateTwice(url, SLOW_MS, 60);
          expect(results.map((r) => (r.status === 'rejected' ? String(r.reason) : 'ok'))).toEqual(['ok', 'ok']);
          expect(applied).toEqual(['0001_slow', '0002_label']);
        });
      },
      60_000,
    );

    it.runIf(available)(
      `${name}: the wait ends at the deadline in seconds with a clear error`,
      async () => {
        await onFreshDatabase(async (url) => {
          // On SQLite one statement waits for the lock up to its own deadline (SQLITE_BUSY_DEADLINE_SECONDS) before the
          // migration looks at its deadline: the first migration outlasts both.
          const { results } = await migrateTwice(url, (1 + SQLITE_BUSY_DEADLINE_SECONDS + 2) * 1000, 1);
          expect(results[0].status).toBe('fulfilled');
          expect(results[1].status).toBe('rejected');
          expect(String((results[1] as PromiseRejectedResult).reason)).toMatch(/migrating "lock_test_migrations" for more than 1 s/);
        });
      },
      60_000,
    );
  }
});
