import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { StoreError } from '../registry.js';

/** A schema change written in code, so the same list runs on SQLite and MySQL without loading files. */
export interface Migration {
  name: string;
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

export interface MigrateOptions {
  /** How long to wait for another process's migration to finish (default 120 s). */
  lockTimeoutSeconds?: number;
}

export const DEFAULT_MIGRATION_LOCK_TIMEOUT_SECONDS = 120;

export function migrationSourceOf(migrations: Migration[]): Knex.MigrationSource<Migration> {
  return {
    getMigrations: async () => migrations,
    getMigrationName: (m) => m.name,
    getMigration: async (m) => m,
  };
}

/**
 * Brings the database to the latest schema. The API and the workers open the same stores when they
 * start, so a fresh database may be migrated by several processes at once: one migrates, the others
 * wait up to the deadline and then find nothing left to do.
 */
export async function migrateToLatest(db: Knex, tableName: string, migrations: Migration[], options: MigrateOptions = {}): Promise<void> {
  const timeoutSeconds = options.lockTimeoutSeconds ?? DEFAULT_MIGRATION_LOCK_TIMEOUT_SECONDS;
  const config = { tableName, migrationSource: migrationSourceOf(migrations) };
  if (db.client.config.client === 'mysql2') {
    await withMysqlLock(db, tableName, timeoutSeconds, async () => {
      // Holding the database lock, nobody else is migrating: a knex lock left set is from a process that died mid-migration.
      await db.migrate.forceFreeMigrationsLock(config);
      await db.migrate.latest(config);
    });
    return;
  }
  await retryWhileRacing(() => db.migrate.latest(config), tableName, timeoutSeconds);
}

/** MySQL's named lock (`GET_LOCK`), held on one dedicated connection around `fn`: it waits in the server, not in a retry loop. */
async function withMysqlLock(db: Knex, tableName: string, timeoutSeconds: number, fn: () => Promise<void>): Promise<void> {
  const connection = await db.client.acquireConnection();
  try {
    const [[{ database }]] = await db.raw('SELECT DATABASE() AS `database`').connection(connection);
    // Lock names are server-wide and at most 64 characters.
    const name = `migrate:${createHash('sha256').update(`${database}.${tableName}`).digest('hex').slice(0, 40)}`;
    const [[{ acquired }]] = await db.raw('SELECT GET_LOCK(?, ?) AS acquired', [name, timeoutSeconds]).connection(connection);
    if (Number(acquired) !== 1) throw lockTimeout(tableName, timeoutSeconds);
    try {
      await fn();
    } finally {
      await db.raw('SELECT RELEASE_LOCK(?)', [name]).connection(connection);
    }
  } finally {
    await db.client.releaseConnection(connection);
  }
}

/** Another process creating the migration tables or holding knex's migration lock at the same moment. */
const RACING = /MigrationLocked|already exists|already locked|database is locked|SQLITE_BUSY/;
const isRacing = (err: unknown) => {
  const e = err as { name?: string; message?: string; code?: string };
  return RACING.test(`${e?.name} ${e?.message} ${e?.code}`);
};

/** SQLite has no named locks: retry while another process holds knex's lock or the write lock, up to the deadline. */
async function retryWhileRacing(migrate: () => Promise<unknown>, tableName: string, timeoutSeconds: number): Promise<void> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  for (let pauseMs = 50; ; pauseMs = Math.min(pauseMs * 2, 1000)) {
    try {
      await migrate();
      return;
    } catch (err) {
      if (!isRacing(err)) throw err;
      if (Date.now() + pauseMs > deadline) throw lockTimeout(tableName, timeoutSeconds, err);
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  }
}

function lockTimeout(tableName: string, timeoutSeconds: number, cause?: unknown): StoreError {
  const error = new StoreError(
    'unavailable',
    `another process has been migrating "${tableName}" for more than ${timeoutSeconds} s; ` +
      'raise MIGRATION_LOCK_TIMEOUT_SECONDS or check for a stuck migration',
  );
  if (cause) error.cause = cause;
  return error;
}
