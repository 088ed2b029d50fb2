import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SqlMeasurements } from '../../core/stores/sql/sqlMeasurements.js';
import { SqlRegistry } from '../../core/stores/sql/sqlRegistry.js';
import { withFreshMysqlDatabase } from '../support/freshMysqlDatabase.js';
import { productionUrls } from '../support/productionServices.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'migrations-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const urls = productionUrls();

/** Opens several stores on one fresh database at once, as the API and the workers do when they start together. */
async function openAtOnce(registryUrl: string, measurementsUrl?: string) {
  const registries = await Promise.all(Array.from({ length: 3 }, () => SqlRegistry.open(registryUrl)));
  const measurements = measurementsUrl ? await Promise.all(Array.from({ length: 3 }, () => SqlMeasurements.open(measurementsUrl))) : [];
  expect(await registries[0].listModels()).toEqual([]);
  await Promise.all([...registries, ...measurements].map((s) => s.close()));
}

describe('SQL stores opened by several processes at once', () => {
  it('migrate a fresh SQLite database once and all open', async () => {
    for (let round = 0; round < 5; round++) {
      await openAtOnce(`sqlite:${path.join(dir, `r${round}.db`)}`, `sqlite:${path.join(dir, `m${round}.db`)}`);
    }
  });

  it.runIf(urls)('migrate a fresh MySQL database once and all open', async () => {
    await withFreshMysqlDatabase(urls!.registryUrl, (url) => openAtOnce(url));
  });
});
