/**
 * The store URLs of the API and worker containers, built from the separate settings docker-compose.yml passes
 * (the same names the MySQL and InfluxDB containers take, and MINIO_ROOT_* for S3), with every user, password, token and name
 * percent-encoded: a secret may hold any character, `/ @ # ? % & $ :` included. A `*_URL` that is already set is
 * left as it is (a store outside compose). deploy/app/entrypoint.sh exports what this prints, then runs the command.
 */
import { pathToFileURL } from 'node:url';

type Env = Record<string, string | undefined>;

const e = encodeURIComponent;

interface StoreUrl {
  setting: 'REGISTRY_URL' | 'MEASUREMENTS_URL' | 'OBJECTS_URL';
  /** The `host:port` setting; without it no URL is built. */
  address: string;
  names: string[];
  build(address: string, value: (name: string) => string): string;
}

const STORE_URLS: StoreUrl[] = [
  {
    setting: 'REGISTRY_URL',
    address: 'MYSQL_ADDRESS',
    names: ['MYSQL_USER', 'MYSQL_PASSWORD', 'MYSQL_DATABASE'],
    build: (address, v) => `mysql://${e(v('MYSQL_USER'))}:${e(v('MYSQL_PASSWORD'))}@${address}/${e(v('MYSQL_DATABASE'))}`,
  },
  {
    setting: 'MEASUREMENTS_URL',
    address: 'INFLUXDB_ADDRESS',
    names: [
      'INFLUXDB_USER',
      'INFLUXDB_PASSWORD',
      'INFLUXDB_DATABASE',
      'INFLUXDB_RETENTION_POLICY',
      'INFLUXDB_ORG',
      'INFLUXDB_BUCKET',
      'INFLUXDB_TOKEN',
    ],
    build: (address, v) => {
      const query = [
        ['retentionPolicy', 'INFLUXDB_RETENTION_POLICY'],
        ['org', 'INFLUXDB_ORG'],
        ['bucket', 'INFLUXDB_BUCKET'],
        ['token', 'INFLUXDB_TOKEN'],
      ].map(([key, name]) => `${key}=${e(v(name!))}`);
      return `influxdb://${e(v('INFLUXDB_USER'))}:${e(v('INFLUXDB_PASSWORD'))}@${address}/${e(v('INFLUXDB_DATABASE'))}?${query.join('&')}`;
    },
  },
  {
    setting: 'OBJECTS_URL',
    address: 'S3_ADDRESS',
    names: ['MINIO_ROOT_USER', 'MINIO_ROOT_PASSWORD', 'S3_BUCKET'],
    build: (address, v) => `s3://${e(v('MINIO_ROOT_USER'))}:${e(v('MINIO_ROOT_PASSWORD'))}@${address}/${e(v('S3_BUCKET'))}`,
  },
];

/** The URLs to set, by setting name; throws naming every setting that is missing. */
export function storeUrls(env: Env): Record<string, string> {
  const urls: Record<string, string> = {};
  const missing: string[] = [];
  for (const store of STORE_URLS) {
    const address = env[store.address];
    if (env[store.setting] || !address) continue;
    const absent = store.names.filter((name) => !env[name]);
    if (absent.length > 0) {
      missing.push(`${store.setting} needs ${absent.join(', ')}`);
      continue;
    }
    urls[store.setting] = store.build(address, (name) => env[name]!);
  }
  if (missing.length > 0) throw new Error(`store settings missing: ${missing.join('; ')} (see .env.example)`);
  return urls;
}

/** `NAME='value'` lines that sh can eval. */
export function shellAssignments(values: Record<string, string>): string {
  return Object.entries(values)
    .map(([name, value]) => `export ${name}='${value.replaceAll("'", `'\\''`)}'\n`)
    .join('');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    process.stdout.write(shellAssignments(storeUrls(process.env)));
  } catch (err) {
    console.error(`[entrypoint] ${(err as Error).message}`);
    process.exit(1);
  }
}
