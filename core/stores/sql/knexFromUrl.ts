import fs from 'node:fs';
import path from 'node:path';
import knexFactory, { type Knex } from 'knex';

/** Opens a knex instance for `sqlite:<file>` or `mysql://user:pass@host:port/db`. */
export function knexFromUrl(url: string): Knex {
  if (url.startsWith('sqlite:')) {
    const filename = url.slice('sqlite:'.length);
    if (filename !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(filename)), { recursive: true });
    const db = knexFactory({
      client: 'better-sqlite3',
      connection: { filename },
      useNullAsDefault: true,
      pool: {
        afterCreate: (conn: { pragma(s: string): void }, done: (err: Error | null, conn: unknown) => void) => {
          conn.pragma('journal_mode = WAL');
          conn.pragma('busy_timeout = 5000');
          conn.pragma('foreign_keys = ON');
          done(null, conn);
        },
      },
    });
    return db;
  }
  if (url.startsWith('mysql://')) {
    return knexFactory({ client: 'mysql2', connection: url, pool: { min: 0, max: 10 } });
  }
  throw new Error(`unsupported SQL URL "${url}": use sqlite:<file> or mysql://user:pass@host:port/db`);
}
