import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');

// The S3 server for tests is Versity's gateway (Apache-2.0), as in docker compose.
export type ServiceName = 'mariadb' | 'influxdb' | 'versitygw';

/** URLs of the real servers `scripts/services/up.sh` started (it exports them in `.services/env`). */
export interface ProductionUrls {
  registryUrl: string;
  measurementsUrl: string;
  objectsUrl: string;
}

/**
 * What a suite does when the servers `scripts/services/up.sh` starts are not there: in CI (where `npm test` starts them)
 * it fails the run by throwing; elsewhere it says so loudly and the suite skips (undefined).
 */
export function serversMissing(suite: string, what: string): undefined {
  const message = `${what}: start them with \`bash scripts/services/up.sh && source .services/env\``;
  if (process.env.CI) throw new Error(message);
  console.warn(`SKIPPING ${suite}: ${message}`);
  return undefined;
}

/**
 * The production store URLs, or undefined outside CI when the services are not running (the suites
 * then say so loudly and skip). In CI a missing service fails the run: `npm test` starts them.
 */
export function productionUrls(): ProductionUrls | undefined {
  const urls = {
    registryUrl: process.env.PRODUCTION_REGISTRY_URL,
    measurementsUrl: process.env.PRODUCTION_MEASUREMENTS_URL,
    objectsUrl: process.env.PRODUCTION_OBJECTS_URL,
  };
  const missing = Object.entries(urls)
    .filter(([, v]) => !v)
    .map(([k]) => k);
  if (missing.length === 0) return urls as ProductionUrls;
  return serversMissing('production-store suites', `production services are not running (${missing.join(', ')} unset)`);
}

/** Restarts one real server and waits until it answers again (data kept). */
export async function restartService(name: ServiceName): Promise<void> {
  await run('bash', [path.join(ROOT, 'scripts/services', `${name}.sh`), 'restart'], { cwd: ROOT, timeout: 120_000 });
}
