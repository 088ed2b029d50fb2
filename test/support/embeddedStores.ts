import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../core/config.js';
import { closeStores, openStores, type Stores } from '../../core/stores/index.js';

export interface TempStores {
  dir: string;
  stores: Stores;
  urls: { registryUrl: string; measurementsUrl: string; objectsUrl: string };
  cleanup(): Promise<void>;
}

/** The embedded stores a process of the system (the API, the workers) opens with DATA_DIR=`dir` and no store URLs. */
export function openStoresIn(dir: string): Promise<Stores> {
  return openStores(loadConfig({ DATA_DIR: dir }));
}

/** Embedded stores (SQLite + folder) in a throwaway directory. */
export async function openTempStores(): Promise<TempStores> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-test-'));
  const urls = {
    registryUrl: `sqlite:${path.join(dir, 'registry.db')}`,
    measurementsUrl: `sqlite:${path.join(dir, 'measurements.db')}`,
    objectsUrl: `file:${path.join(dir, 'objects')}`,
  };
  const stores = await openStores(urls);
  return {
    dir,
    stores,
    urls,
    async cleanup() {
      await closeStores(stores);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
