import type { Config } from '../config.js';
import { FolderObjects } from './folderObjects.js';
import type { MeasurementStore } from './measurements.js';
import type { ObjectStore } from './objects.js';
import type { RegistryStore } from './registry.js';
import { SqlMeasurements } from './sql/sqlMeasurements.js';
import { SqlRegistry } from './sql/sqlRegistry.js';

export interface Stores {
  registry: RegistryStore;
  measurements: MeasurementStore;
  objects: ObjectStore;
}

/** Picks each store's implementation from its URL scheme, as MLflow does. */
export async function openRegistry(url: string): Promise<RegistryStore> {
  if (url.startsWith('sqlite:') || url.startsWith('mysql://')) return SqlRegistry.open(url);
  throw new Error(`unsupported REGISTRY_URL "${url}"`);
}

export async function openMeasurements(url: string): Promise<MeasurementStore> {
  if (url.startsWith('sqlite:')) return SqlMeasurements.open(url);
  throw new Error(`unsupported MEASUREMENTS_URL "${url}" (embedded: sqlite:<file>)`);
}

export async function openObjects(url: string): Promise<ObjectStore> {
  if (url.startsWith('file:')) return new FolderObjects(url.slice('file:'.length));
  throw new Error(`unsupported OBJECTS_URL "${url}" (embedded: file:<folder>)`);
}

export async function openStores(config: Pick<Config, 'registryUrl' | 'measurementsUrl' | 'objectsUrl'>): Promise<Stores> {
  const [registry, measurements, objects] = await Promise.all([
    openRegistry(config.registryUrl),
    openMeasurements(config.measurementsUrl),
    openObjects(config.objectsUrl),
  ]);
  return { registry, measurements, objects };
}

export async function closeStores(stores: Stores): Promise<void> {
  await Promise.allSettled([stores.registry.close(), stores.measurements.close(), stores.objects.close()]);
}
