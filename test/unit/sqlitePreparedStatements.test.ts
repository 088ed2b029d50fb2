import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Knex } from 'knex';
import { knexFromUrl, PREPARED_STATEMENTS_KEPT } from '../../core/stores/sql/knexFromUrl.js';

type Connection = { prepare(sql: string): unknown };

/** A SQLite connection compiles each SQL text once: the statements knex prepares for every query are kept. */
describe('SQLite connections from knexFromUrl', () => {
  let db: Knex | undefined;
  afterEach(async () => {
    await db?.destroy();
  });

  async function withConnection<T>(use: (connection: Connection) => T): Promise<T> {
    const connection = (await db!.client.acquireConnection()) as Connection;
    try {
      return use(connection);
    } finally {
      await db!.client.releaseConnection(connection);
    }
  }

  it('keep the statements they compiled, least recently used leaving first, and still see a schema that changed', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-prepared-'));
    db = knexFromUrl(`sqlite:${path.join(dir, 'kept.db')}`);
    await db.schema.createTable('t', (t) => t.integer('a'));
    await db('t').insert({ a: 1 });
    const selectAll = db('t').select('*').toString();
    expect(await db('t').select('*')).toEqual([{ a: 1 }]);
    const kept = await withConnection((c) => c.prepare(selectAll));
    expect(await withConnection((c) => c.prepare(selectAll))).toBe(kept);

    // The statement kept for this SQL was compiled before the new column.
    await db.schema.alterTable('t', (t) => t.integer('b'));
    await db('t').insert({ a: 2, b: 3 });
    expect(await db('t').select('*')).toEqual([
      { a: 1, b: null },
      { a: 2, b: 3 },
    ]);
    expect(await withConnection((c) => c.prepare(selectAll))).toBe(kept);

    // A query's own safeIntegers option does not carry over, with the kept statement, to the next one of the same SQL.
    expect(await db('t').select('a').where('a', 2).options({ safeIntegers: true })).toEqual([{ a: 2n }]);
    expect(await db('t').select('a').where('a', 2)).toEqual([{ a: 2 }]);

    await withConnection((c) => {
      for (let i = 0; i < PREPARED_STATEMENTS_KEPT; i++) c.prepare(`select ${i}`);
    });
    expect(await withConnection((c) => c.prepare(selectAll))).not.toBe(kept);
  });
});
