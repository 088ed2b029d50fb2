/**
 * Where `influxdb://user:password@host:port/database[?retentionPolicy=&token=&org=&bucket=&tls=true]` points.
 *
 * Queries are InfluxQL on the v1 `/query` API, which InfluxDB 1.x serves natively and 2.x through its v1
 * compatibility (database + retention policy mapped to a bucket). Writes go to `/api/v2/write`, which
 * both serve: on 1.8+ the bucket is `database/retentionPolicy` and the token `user:password`; on 2.x pass
 * the real `bucket`, `org` and API `token`.
 */
export interface InfluxLocation {
  url: string;
  database: string;
  retentionPolicy: string;
  /** Sent as `Authorization: Token ...` on writes, and on queries when no user is given. */
  token: string;
  org: string;
  bucket: string;
  user?: string;
  password?: string;
}

export function parseInfluxUrl(url: string): InfluxLocation {
  const u = new URL(url);
  if (u.protocol !== 'influxdb:') throw new Error(`not an influxdb:// URL: "${url}"`);
  const database = u.pathname.replace(/^\/+|\/+$/g, '');
  if (!u.hostname || !database || database.includes('/')) {
    throw new Error('MEASUREMENTS_URL must look like influxdb://user:password@host:port/database');
  }
  const q = u.searchParams;
  const user = u.username ? decodeURIComponent(u.username) : undefined;
  const password = u.password ? decodeURIComponent(u.password) : undefined;
  const retentionPolicy = q.get('retentionPolicy') ?? 'autogen';
  const scheme = q.get('tls') === 'true' ? 'https' : 'http';
  return {
    url: `${scheme}://${u.hostname}:${u.port || 8086}`,
    database,
    retentionPolicy,
    token: q.get('token') ?? (user ? `${user}:${password ?? ''}` : ''),
    org: q.get('org') ?? '',
    bucket: q.get('bucket') ?? `${database}/${retentionPolicy}`,
    user,
    password,
  };
}
