import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { closeStores, openStores, type Stores } from '../../core/stores/index.js';

export interface TempStores {
  dir: string;
  stores: Stores;
  urls: { registryUrl: string; measurementsUrl: string; objectsUrl: string };
  cleanup(): Promise<void>;
}

/** The settings that point a process of the system (the API, the workers) at embedded stores in `dir`. */
export function embeddedStoreEnv(dir: string) {
  return {
    DATA_DIR: dir,
    REGISTRY_URL: `sqlite:${path.join(dir, 'registry.db')}`,
    MEASUREMENTS_URL: `sqlite:${path.join(dir, 'measurements.db')}`,
    OBJECTS_URL: `file:${path.join(dir, 'objects')}`,
  };
}

/** The stores those settings name, opened in this process. */
export function openStoresOfEnv(env: ReturnType<typeof embeddedStoreEnv>): Promise<Stores> {
  return openStores({ registryUrl: env.REGISTRY_URL, measurementsUrl: env.MEASUREMENTS_URL, objectsUrl: env.OBJECTS_URL });
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
