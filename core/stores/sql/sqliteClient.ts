import { createRequire } from 'node:module';
import type { Knex } from 'knex';

/** How long a query waits for another connection's lock on the file before it fails with SQLITE_BUSY. */
export const SQLITE_BUSY_DEADLINE_SECONDS = 5;

interface Connection {
  /** better-sqlite3: whether a transaction is open on this connection. */
  readonly inTransaction: boolean;
}

type QueryObject = { sql: string };

interface BetterSqlite3Client {
  _query(connection: Connection, obj: QueryObject): Promise<QueryObject>;
  acquireRawConnection(): Promise<any>;
  destroyRawConnection(connection: any): Promise<void>;
}

const require = createRequire(import.meta.url);
// knex documents passing a Client class as `client`, but types none of its dialects.
const KnexBetterSqlite3Client = require('knex/lib/dialects/better-sqlite3/index.js') as new (config: Knex.Config) => BetterSqlite3Client;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * better-sqlite3 runs on the main thread, so SQLite's own busy wait (`busy_timeout`) would stop the event loop for
 * as long as another process holds the file. Connections open with `busy_timeout = 0` instead: a statement that
 * finds the file locked fails at once with SQLITE_BUSY, and is run again after a pause, until the deadline.
 *
 * Inside a transaction the statement is run again only while the transaction is still open (SQLite may have rolled
 * it back). SQLITE_BUSY_SNAPSHOT is never retried here: the transaction read a snapshot another connection has since
 * written past, so only running the whole transaction again can succeed (the registry does that).
 */
export function sqliteClientWithBusyDeadline(deadlineSeconds: number) {
  return class SqliteClientWithBusyDeadline extends KnexBetterSqlite3Client {
    override async _query(connection: Connection, obj: QueryObject): Promise<QueryObject> {
      const deadline = Date.now() + deadlineSeconds * 1000;
      const wasInTransaction = connection.inTransaction;
      for (let pauseMs = 5; ; pauseMs = Math.min(pauseMs * 2, 200)) {
        try {
          return await super._query(connection, obj);
        } catch (err) {
          const retry =
            (err as { code?: string })?.code?.startsWith('SQLITE_BUSY') &&
            (err as { code?: string }).code !== 'SQLITE_BUSY_SNAPSHOT' &&
            connection.inTransaction === wasInTransaction &&
            Date.now() + pauseMs <= deadline;
          if (!retry) throw err;
          await pause(pauseMs);
        }
      }
    }
  };
}
