import { decodeComponent, parseStoreUrl, queryParameters, singlePathSegment, StoreUrlError } from '../storeUrl.js';

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

const SETTING = 'MEASUREMENTS_URL';
const FORM = 'influxdb://user:password@host:port/database[?retentionPolicy=&org=&bucket=&token=&tls=true]';

/** User, password, database and query values are percent-encoded (see storeUrl.ts). */
export function parseInfluxUrl(url: string): InfluxLocation {
  const u = parseStoreUrl(url, SETTING, 'influxdb:', FORM);
  const database = singlePathSegment(u, `database in ${SETTING}`);
  if (!u.hostname || !database) throw new StoreUrlError(`${SETTING} must look like ${FORM}`);
  const q = queryParameters(u, SETTING);
  const user = u.username ? decodeComponent(u.username, `user in ${SETTING}`) : undefined;
  const password = u.password ? decodeComponent(u.password, `password in ${SETTING}`) : undefined;
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
