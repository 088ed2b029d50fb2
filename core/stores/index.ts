import type { Config } from '../config.js';
import { FolderObjects } from './folderObjects.js';
import type { MeasurementStore } from './measurements.js';
import type { ObjectStore } from './objects.js';
import type { RegistryStore } from './registry.js';
import type { MigrateOptions } from './sql/migrations.js';
import { SqlMeasurements } from './sql/sqlMeasurements.js';
import { SqlRegistry } from './sql/sqlRegistry.js';

export interface Stores {
  registry: RegistryStore;
  measurements: MeasurementStore;
  objects: ObjectStore;
}

/**
 * Picks each store's implementation from its URL scheme, as MLflow does. The S3 and InfluxDB clients are imported only
 * when a URL names them: on files and SQLite the API's heap does not carry them (minio alone is 7.5 MB), and every
 * major garbage collection marks that heap on the event loop (issue 26's longest stall).
 */
export async function openRegistry(url: string, options: MigrateOptions = {}): Promise<RegistryStore> {
  if (url.startsWith('sqlite:') || url.startsWith('mysql://')) return SqlRegistry.open(url, options);
  throw new Error(`unsupported REGISTRY_URL "${redact(url)}" (sqlite:<file> or mysql://user:password@host:port/database)`);
}

export async function openMeasurements(url: string, options: MigrateOptions = {}): Promise<MeasurementStore> {
  if (url.startsWith('sqlite:')) return SqlMeasurements.open(url, options);
  if (url.startsWith('influxdb://')) return (await import('./influx/influxMeasurements.js')).InfluxMeasurements.open(url);
  throw new Error(`unsupported MEASUREMENTS_URL "${redact(url)}" (sqlite:<file> or influxdb://user:password@host:port/database)`);
}

export async function openObjects(url: string): Promise<ObjectStore> {
  if (url.startsWith('file:')) return new FolderObjects(url.slice('file:'.length));
  if (url.startsWith('s3://')) return (await import('./s3/s3Objects.js')).S3Objects.open(url);
  throw new Error(`unsupported OBJECTS_URL "${redact(url)}" (file:<folder> or s3://access:secret@host:port/bucket)`);
}

/** A store URL with its password and token hidden, for messages and logs. */
export function redact(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@').replace(/([?&]token=)[^&]*/, '$1***');
}

export async function openStores(
  config: Pick<Config, 'registryUrl' | 'measurementsUrl' | 'objectsUrl'> & Partial<Pick<Config, 'migrationLockTimeoutSeconds'>>,
): Promise<Stores> {
  const migrate = { lockTimeoutSeconds: config.migrationLockTimeoutSeconds };
  const [registry, measurements, objects] = await Promise.all([
    openRegistry(config.registryUrl, migrate),
    openMeasurements(config.measurementsUrl, migrate),
    openObjects(config.objectsUrl),
  ]);
  return { registry, measurements, objects };
}

export async function closeStores(stores: Stores): Promise<void> {
  await Promise.allSettled([stores.registry.close(), stores.measurements.close(), stores.objects.close()]);
}
