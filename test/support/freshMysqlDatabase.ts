import { randomUUID } from 'node:crypto';
import mysql from 'mysql2/promise';

/**
 * Runs `fn` with the URL of a new, empty database on the MySQL server of `registryUrl`, dropped
 * afterwards. The test servers' user may create `<database>_test*` databases.
 */
export async function withFreshMysqlDatabase<T>(registryUrl: string, fn: (url: string) => Promise<T>): Promise<T> {
  const url = new URL(registryUrl);
  const database = `${url.pathname.slice(1)}_test_${randomUUID().slice(0, 8)}`;
  const admin = await mysql.createConnection({
    host: url.hostname,
    port: Number(url.port),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
  });
  await admin.query(`CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4`);
  try {
    url.pathname = `/${database}`;
    return await fn(url.toString());
  } finally {
    await admin.query(`DROP DATABASE \`${database}\``);
    await admin.end();
  }
}
