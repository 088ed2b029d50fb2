import type { Knex } from 'knex';

/** A schema change written in code, so the same list runs on SQLite and MySQL without loading files. */
export interface Migration {
  name: string;
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

export function migrationSourceOf(migrations: Migration[]): Knex.MigrationSource<Migration> {
  return {
    getMigrations: async () => migrations,
    getMigrationName: (m) => m.name,
    getMigration: async (m) => m,
  };
}

/** Another process creating the migration tables or holding knex's migration lock at the same moment. */
const RACING = /already exists|already locked|SQLITE_BUSY|ER_TABLE_EXISTS_ERROR|ER_DUP_ENTRY|Duplicate entry|ER_LOCK_DEADLOCK/;

/**
 * Brings the database to the latest schema. The API and the workers open the same stores when they
 * start, so a fresh database may be migrated by two processes at once: the loser retries and then
 * finds nothing left to do.
 */
export async function migrateToLatest(db: Knex, tableName: string, migrations: Migration[]): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await db.migrate.latest({ tableName, migrationSource: migrationSourceOf(migrations) });
      return;
    } catch (err) {
      if (attempt >= 20 || !RACING.test(String((err as Error).message) + String((err as { code?: string }).code ?? ''))) throw err;
      await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
    }
  }
}
