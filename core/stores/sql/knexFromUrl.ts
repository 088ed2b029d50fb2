import fs from 'node:fs';
import path from 'node:path';
import knexFactory, { type Knex } from 'knex';
import { decodeComponent, parseStoreUrl, singlePathSegment, StoreUrlError } from '../storeUrl.js';
import { SQLITE_BUSY_DEADLINE_SECONDS, sqliteClientWithBusyDeadline } from './sqliteClient.js';
import { withBackgroundCheckpoints } from './walCheckpoints.js';

/** Opens a knex instance for `sqlite:<file>` or `mysql://user:pass@host:port/db`. */
export function knexFromUrl(url: string, options: { checkpointEveryMs?: number } = {}): Knex {
  if (url.startsWith('sqlite:')) {
    const filename = url.slice('sqlite:'.length);
    if (filename !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(filename)), { recursive: true });
    const db = knexFactory({
      client: withBackgroundCheckpoints(
        sqliteClientWithBusyDeadline(SQLITE_BUSY_DEADLINE_SECONDS),
        options.checkpointEveryMs,
      ) as unknown as typeof knexFactory.Client,
      connection: { filename },
      useNullAsDefault: true,
      pool: {
        afterCreate: (conn: SqliteConnection, done: (err: Error | null, conn: unknown) => void) => {
          keepPreparedStatements(conn);
          conn.pragma('journal_mode = WAL');
          // Waiting for another connection's lock happens in the client, off SQLite's blocking busy handler.
          conn.pragma('busy_timeout = 0');
          conn.pragma('foreign_keys = ON');
          done(null, conn);
        },
      },
    });
    return db;
  }
  if (url.startsWith('mysql://')) {
    return knexFactory({ client: 'mysql2', connection: mysqlConnection(url), pool: { min: 0, max: 10 } });
  }
  throw new StoreUrlError(`unsupported SQL URL: use sqlite:<file> or ${MYSQL_FORM}`);
}

interface SqliteStatement {
  safeIntegers(on: boolean): unknown;
}

interface SqliteConnection {
  pragma(s: string): void;
  prepare(sql: string): SqliteStatement;
}

/** Statements a connection keeps compiled (the most recently used ones). */
export const PREPARED_STATEMENTS_KEPT = 256;

/**
 * knex prepares every query it runs, and better-sqlite3 compiles the SQL again at each prepare (on the event loop):
 * the connection keeps the statements it compiled, by their SQL. knex runs a statement to its end at once (`all` or
 * `run`), so one statement never serves two queries at a time; SQLite compiles a kept statement again itself when
 * the schema changed; a query's own `safeIntegers` option is undone when its statement is used again.
 */
function keepPreparedStatements(conn: SqliteConnection) {
  const prepare = conn.prepare.bind(conn);
  const kept = new Map<string, SqliteStatement>();
  conn.prepare = (sql: string) => {
    let statement = kept.get(sql);
    if (statement !== undefined) {
      kept.delete(sql);
      // knex sets a statement's safeIntegers only for a query that asks: the next query of the same SQL starts from
      // the connection's default again (never changed here).
      statement.safeIntegers(false);
    } else statement = prepare(sql);
    kept.set(sql, statement);
    if (kept.size > PREPARED_STATEMENTS_KEPT) kept.delete(kept.keys().next().value!);
    return statement;
  };
}

const SETTING = 'REGISTRY_URL';
const MYSQL_FORM = 'mysql://user:password@host:port/database';

export interface MysqlConnection {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
}

/** User, password and database are percent-encoded (see storeUrl.ts); knex and mysql2 get them decoded. */
export function mysqlConnection(url: string): MysqlConnection {
  const u = parseStoreUrl(url, SETTING, 'mysql:', MYSQL_FORM);
  const database = singlePathSegment(u, `database in ${SETTING}`);
  if (!u.hostname || !database || !u.username) throw new StoreUrlError(`${SETTING} must look like ${MYSQL_FORM}`);
  if (u.search) throw new StoreUrlError(`${SETTING} takes no query parameters (a "?" in a password must be percent-encoded as %3F)`);
  return {
    host: u.hostname,
    port: u.port ? Number(u.port) : 3306,
    user: decodeComponent(u.username, `user in ${SETTING}`),
    password: decodeComponent(u.password, `password in ${SETTING}`),
    database,
  };
}
