import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import { afterEach, describe, expect, it } from 'vitest';
import { knexFromUrl } from '../../core/stores/sql/knexFromUrl.js';

const PAGE = 4096;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A commit never checkpoints the WAL on the thread that committed (the API's event loop): the pages reach the
 * database file from the process's checkpoint thread. The database file's size tells which: a checkpoint copies the
 * WAL's pages into it.
 */
describe('WAL checkpoints of SQLite connections from knexFromUrl', () => {
  let db: Knex | undefined;
  afterEach(async () => {
    await db?.destroy();
    db = undefined;
  });

  async function open(checkpointEveryMs: number) {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-wal-')), 'wal.db');
    db = knexFromUrl(`sqlite:${file}`, { checkpointEveryMs });
    await db.schema.createTable('t', (t) => {
      t.increments('id');
      t.text('b');
    });
    return file;
  }

  /** 1,200 pages of rows in 12 commits: past SQLite's own checkpoint threshold (1,000 pages) at the 10th. */
  async function writePastThreshold() {
    for (let i = 0; i < 12; i++) await db!('t').insert(Array.from({ length: 100 }, () => ({ b: 'x'.repeat(PAGE - 200) })));
  }

  it('leave the database file as it was after commits that take the WAL past 1,000 pages', async () => {
    const file = await open(3_600_000);
    const before = fs.statSync(file).size;
    await writePastThreshold();
    expect(fs.statSync(`${file}-wal`).size).toBeGreaterThan(1000 * PAGE);
    expect(fs.statSync(file).size).toBe(before);
    expect(await db!('t').count({ n: '*' })).toEqual([{ n: 1200 }]);
  });

  it('reach the database file from the checkpoint thread, and a commit after it writes the WAL from its start again', async () => {
    const file = await open(50);
    await writePastThreshold();
    const deadline = Date.now() + 10_000;
    while (fs.statSync(file).size < 1200 * PAGE && Date.now() < deadline) await pause(20);
    expect(fs.statSync(file).size).toBeGreaterThanOrEqual(1200 * PAGE);

    // A commit appends to the WAL until a checkpoint has copied all of it; then it writes from the start, and the file stops growing.
    let startedOver = false;
    while (!startedOver && Date.now() < deadline) {
      const before = fs.statSync(`${file}-wal`).size;
      await db!('t').insert({ b: 'after' });
      startedOver = fs.statSync(`${file}-wal`).size === before;
      await pause(20);
    }
    expect(startedOver).toBe(true);
    expect(fs.statSync(`${file}-wal`).size).toBeLessThan(1300 * PAGE);
  });
});
