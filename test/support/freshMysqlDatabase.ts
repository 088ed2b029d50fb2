import { randomUUID } from 'node:crypto';
import mysql from 'mysql2/promise';

export interface FreshMysqlDatabase {
  /** `registryUrl` with the new database's name. */
  url: string;
  drop(): Promise<void>;
}

/** A new, empty database on the MySQL server of `registryUrl`. The test servers' user may create `<database>_test*` databases. */
export async function createFreshMysqlDatabase(registryUrl: string): Promise<FreshMysqlDatabase> {
  const url = new URL(registryUrl);
  const database = `${url.pathname.slice(1)}_test_${randomUUID().slice(0, 8)}`;
  const admin = await mysql.createConnection({
    host: url.hostname,
    port: Number(url.port),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
  });
  try {
    await admin.query(`CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4`);
  } catch (err) {
    await admin.end();
    throw err;
  }
  url.pathname = `/${database}`;
  return {
    url: url.toString(),
    async drop() {
      try {
        await admin.query(`DROP DATABASE \`${database}\``);
      } finally {
        await admin.end();
      }
    },
  };
}

/** Runs `fn` with the URL of a new, empty database on the MySQL server of `registryUrl`, dropped afterwards. */
export async function withFreshMysqlDatabase<T>(registryUrl: string, fn: (url: string) => Promise<T>): Promise<T> {
  const database = await createFreshMysqlDatabase(registryUrl);
  try {
    return await fn(database.url);
  } finally {
    await database.drop();
  }
}
