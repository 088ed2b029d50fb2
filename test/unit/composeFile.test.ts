import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseEnv } from 'node:util';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { API_NODE_FLAGS } from '../../api/nodeFlags.js';
import { loadConfig } from '../../core/config.js';
import { parseInfluxUrl } from '../../core/stores/influx/influxLocation.js';
import { parseS3Url } from '../../core/stores/s3/s3Objects.js';
import { mysqlConnection } from '../../core/stores/sql/knexFromUrl.js';
import { SEARCH_ATTRIBUTES, TASK_QUEUES } from '../../workflows/shared.js';

/*
 * docker-compose.yml cannot be started here (no Docker engine), so this suite checks what can be checked without
 * one: the Compose Specification schema, that every ${NAME} is in .env.example, health checks, named volumes, and
 * that the stores get the settings the tests' own servers use (scripts/services/*.sh read .env.example too).
 * The general checks are functions returning their problems, and each also runs once on a copy broken on purpose,
 * so a check that can no longer fail fails here. Where the docker CLI can, `docker compose config` runs too.
 */

const REPO_DIR = fileURLToPath(new URL('../../', import.meta.url));
const read = (file: string) => fs.readFileSync(path.join(REPO_DIR, file), 'utf8');

interface Healthcheck {
  test?: string | string[];
  disable?: boolean;
}
interface Service {
  image?: string;
  build?: unknown;
  restart?: string;
  pull_policy?: string;
  command?: string[];
  ports?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: Healthcheck;
  'x-healthcheck-exempt'?: string;
}
interface ComposeFile {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

const compose = parseYaml(read('docker-compose.yml'), { merge: true }) as ComposeFile;
const envExample = parseEnv(read('.env.example')) as Record<string, string>;
/** Every setting .env.example names, also those it leaves empty or comments out. */
const envExampleNames = (text: string) => [...text.matchAll(/^\s*#?\s*([A-Z][A-Z0-9_]*)=/gm)].map(([, name]) => name!);

/** A deep copy to break on purpose. */
const copyOf = (file: ComposeFile): ComposeFile => structuredClone(file);

// --- Interpolation: docker compose replaces ${NAME} from .env and $$ by $; this file uses no other form. ---

const VARIABLE = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

function stringsIn(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringsIn);
  if (value && typeof value === 'object') return Object.values(value).flatMap(stringsIn);
  return [];
}

function interpolationProblems(file: ComposeFile, env: Record<string, string>): string[] {
  const problems: string[] = [];
  for (const text of stringsIn(file)) {
    if (text.replace(VARIABLE, '').includes('$')) problems.push(`unsupported interpolation in "${text}" (use \${NAME} or $$)`);
    for (const [, name] of text.matchAll(VARIABLE)) {
      if (name && !(name in env)) problems.push(`\${${name}} is not defined in .env.example`);
    }
  }
  return problems;
}

function interpolate(text: string, env: Record<string, string>): string {
  return text.replace(VARIABLE, (match, name: string | undefined) => (name === undefined ? '$' : (env[name] ?? '')));
}

const usedVariables = (file: ComposeFile) =>
  new Set(stringsIn(file).flatMap((text) => [...text.matchAll(VARIABLE)].map(([, name]) => name).filter(Boolean)));

/** Environment of a service as its container sees it, with .env.example as the .env. */
const environmentOf = (file: ComposeFile, service: string, env = envExample) =>
  Object.fromEntries(Object.entries(file.services[service]?.environment ?? {}).map(([k, v]) => [k, interpolate(String(v), env)]));

// --- Health checks: every service has one, except one-shot jobs that say why and are awaited to completion. ---

function healthcheckProblems(file: ComposeFile): string[] {
  const problems: string[] = [];
  for (const [name, service] of Object.entries(file.services)) {
    const exempt = service['x-healthcheck-exempt'];
    const checked = service.healthcheck?.test !== undefined && service.healthcheck.disable !== true;
    if (!checked && !exempt) problems.push(`${name} has no healthcheck and no x-healthcheck-exempt reason`);
    if (checked && exempt) problems.push(`${name} has a healthcheck and an exemption`);
  }
  for (const [name, service] of Object.entries(file.services)) {
    for (const [dependency, { condition }] of Object.entries(service.depends_on ?? {})) {
      const expected = file.services[dependency]?.['x-healthcheck-exempt'] ? 'service_completed_successfully' : 'service_healthy';
      if (condition !== expected) problems.push(`${name} waits for ${dependency} with ${condition}, not ${expected}`);
    }
  }
  return problems;
}

// --- Images: one service builds each image tag (two building one tag race: "image already exists"). ---

function buildProblems(file: ComposeFile): string[] {
  const builders = new Map<string, string[]>();
  for (const [name, service] of Object.entries(file.services)) {
    if (service.build !== undefined && service.image) builders.set(service.image, [...(builders.get(service.image) ?? []), name]);
  }
  const problems = [...builders]
    .filter(([, names]) => names.length > 1)
    .map(([image, names]) => `${image} is built by ${names.join(' and ')}`);
  for (const [name, service] of Object.entries(file.services)) {
    if (service.build === undefined && service.image && builders.has(service.image) && service.pull_policy !== 'never') {
      problems.push(`${name} runs ${service.image}, which ${builders.get(service.image)!.join(', ')} builds: set pull_policy: never`);
    }
  }
  return problems;
}

// --- Restart policies: servers come back (unless stopped); one-shot jobs run again when they fail. ---

function restartProblems(file: ComposeFile): string[] {
  return Object.entries(file.services).flatMap(([name, service]) => {
    const oneShot = Boolean(service['x-healthcheck-exempt']);
    const ok = oneShot ? /^on-failure(:\d+)?$/.test(service.restart ?? '') : ['unless-stopped', 'always'].includes(service.restart ?? '');
    return ok ? [] : [`${name} (${oneShot ? 'one-shot job' : 'server'}) has restart: ${service.restart ?? '(none)'}`];
  });
}

// --- Settings: every one .env.example names reaches a container (its environment, command or published ports). ---

function unusedSettings(file: ComposeFile, names: string[]): string[] {
  const reaching = usedVariables({
    services: Object.fromEntries(
      Object.entries(file.services).map(([name, s]) => [name, { environment: s.environment, command: s.command, ports: s.ports }]),
    ),
  } as ComposeFile);
  return names.filter((name) => !reaching.has(name));
}

// --- Volumes: each stateful service keeps its data in a named volume; every bind-mounted path exists. ---

const DATA_PATHS: Record<string, string> = {
  'temporal-postgres': '/var/lib/postgresql/data',
  mysql: '/var/lib/mysql',
  influxdb: '/var/lib/influxdb2',
  s3: '/data',
  grafana: '/var/lib/grafana',
  api: '/app/data',
};

function volumeProblems(file: ComposeFile): string[] {
  const problems: string[] = [];
  for (const [name, service] of Object.entries(file.services)) {
    for (const volume of service.volumes ?? []) {
      const [source = '', target] = volume.split(':');
      if (source.startsWith('.') || source.startsWith('/')) {
        if (!fs.existsSync(path.join(REPO_DIR, source))) problems.push(`${name} mounts ${source}, which does not exist`);
      } else if (!(source in (file.volumes ?? {}))) {
        problems.push(`${name} mounts volume ${source}, which is not declared under volumes:`);
      } else if (target === undefined) {
        problems.push(`${name} mounts ${source} nowhere`);
      }
    }
  }
  for (const [name, dataPath] of Object.entries(DATA_PATHS)) {
    const mounted = (file.services[name]?.volumes ?? []).some((volume) => {
      const [source = '', target] = volume.split(':');
      return target === dataPath && source in (file.volumes ?? {});
    });
    if (!mounted) problems.push(`${name} does not keep ${dataPath} in a named volume`);
  }
  return problems;
}

// --- Schema ---

const schema = JSON.parse(read('test/fixtures/compose-spec/compose-spec.json')) as Record<string, unknown>;
// The schema names draft-07 by an https URL that Ajv does not know; its draft-07 meta-schema is built in.
const validateCompose = new Ajv({ allErrors: true, strict: false }).compile({ ...schema, $schema: undefined });
const schemaProblems = (file: unknown) =>
  validateCompose(file) ? [] : (validateCompose.errors ?? []).map((e) => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`);

describe('docker-compose.yml', () => {
  it('is valid against the Compose Specification schema', () => {
    expect(schemaProblems(compose)).toEqual([]);
    const broken = copyOf(compose) as unknown as { services: Record<string, Record<string, unknown>> };
    broken.services.api!.helthcheck = broken.services.api!.healthcheck;
    expect(schemaProblems(broken)).not.toEqual([]);
  });

  it('takes every ${NAME} from .env.example, and passes every setting there to a container', () => {
    expect(interpolationProblems(compose, envExample)).toEqual([]);
    const names = envExampleNames(read('.env.example'));
    expect(names).toEqual(expect.arrayContaining([...Object.keys(envExample), 'SWEEP_PARALLELISM', 'ML_THREADS_PER_TRIAL']));
    expect(unusedSettings(compose, names)).toEqual([]);
    expect(unusedSettings(compose, ['# COMMENTED_OUT_SETTING='].flatMap(envExampleNames))).toEqual(['COMMENTED_OUT_SETTING']);

    const broken = copyOf(compose);
    broken.services.api!.environment!.LOG_LEVEL = '${LOG_LEVL}';
    expect(interpolationProblems(broken, envExample)).toEqual(['${LOG_LEVL} is not defined in .env.example']);
    broken.services.api!.environment!.LOG_LEVEL = '$LOG_LEVEL';
    expect(interpolationProblems(broken, envExample)).toHaveLength(1);
  });

  it('has a health check on every service, or a one-shot job awaited to its successful end', () => {
    expect(healthcheckProblems(compose)).toEqual([]);
    expect(Object.values(compose.services).filter((s) => s['x-healthcheck-exempt'])).toHaveLength(2);

    const withoutCheck = copyOf(compose);
    delete withoutCheck.services.mysql!.healthcheck;
    expect(healthcheckProblems(withoutCheck)).toContain('mysql has no healthcheck and no x-healthcheck-exempt reason');
    const startedEarly = copyOf(compose);
    startedEarly.services.api!.depends_on!.mysql = { condition: 'service_started' };
    expect(healthcheckProblems(startedEarly)).toEqual(['api waits for mysql with service_started, not service_healthy']);
  });

  it('keeps the data of every stateful service in a named volume, and mounts only files that exist', () => {
    expect(volumeProblems(compose)).toEqual([]);

    const bindMounted = copyOf(compose);
    bindMounted.services.mysql!.volumes = ['./data/mysql:/var/lib/mysql'];
    expect(volumeProblems(bindMounted)).toContain('mysql does not keep /var/lib/mysql in a named volume');
    const missingFile = copyOf(compose);
    missingFile.services.influxdb!.volumes!.push('./deploy/influxdb/missing:/docker-entrypoint-initdb.d');
    expect(volumeProblems(missingFile)).toEqual(['influxdb mounts ./deploy/influxdb/missing, which does not exist']);
  });

  it('builds each image tag once: the api service builds, the worker only runs the image', () => {
    expect(buildProblems(compose)).toEqual([]);
    const bothBuild = copyOf(compose);
    bothBuild.services.worker!.build = '.';
    expect(buildProblems(bothBuild)).toEqual(['edge-mlops-loop:local is built by api and worker']);
    const pulled = copyOf(compose);
    delete pulled.services.worker!.pull_policy;
    expect(buildProblems(pulled)).toHaveLength(1);
  });

  it('restarts servers unless stopped, and runs a one-shot job again when it fails', () => {
    expect(restartProblems(compose)).toEqual([]);
    const once = copyOf(compose);
    delete once.services['temporal-init']!.restart;
    expect(restartProblems(once)).toEqual(['temporal-init (one-shot job) has restart: (none)']);
  });

  it('runs the API and the worker from this repository with the same settings, the API with its Node options wherever it starts', () => {
    const { api, worker } = compose.services;
    expect(api!.build).toBe('.');
    expect(worker!.image).toBe(api!.image);
    expect(worker!.environment).toEqual(api!.environment);
    expect(api!.command).toEqual(['node', ...API_NODE_FLAGS, '--import', 'tsx', 'api/server.ts']);
    expect(read('Dockerfile')).toContain(`CMD ${JSON.stringify(api!.command).replaceAll('","', '", "')}`);
    expect(read('scripts/topology/up.sh')).toContain(`node ${API_NODE_FLAGS.join(' ')} --import tsx api/server.ts`);
    expect(worker!.command).toEqual(['node', '--import', 'tsx', 'workers/main.ts']);
    const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
    expect(scripts.api).toBe(`node ${API_NODE_FLAGS.join(' ')} --import tsx api/server.ts`);
    expect(scripts.worker).toBe('tsx workers/main.ts');
  });
});

/**
 * The environment the API or worker process sees: the container's, after the image's entrypoint (Dockerfile:
 * deploy/app/entrypoint.sh) has built the store URLs. The entrypoint really runs, under sh, and prints it.
 */
function processEnvironment(containerEnv: Record<string, string>): Record<string, string> {
  expect(read('Dockerfile')).toMatch(/^ENTRYPOINT \["\/bin\/sh", "\/app\/deploy\/app\/entrypoint\.sh"\]$/m);
  const printed = execFileSync(
    'sh',
    ['deploy/app/entrypoint.sh', process.execPath, '-e', 'process.stdout.write(JSON.stringify(process.env))'],
    {
      cwd: REPO_DIR,
      env: { PATH: process.env.PATH, ...containerEnv },
      encoding: 'utf8',
    },
  );
  return JSON.parse(printed) as Record<string, string>;
}

describe('the settings docker compose gives the stores', () => {
  const config = loadConfig(processEnvironment(environmentOf(compose, 'api')));
  // Several settings share a value in .env.example (mlops); a value per name shows which name went where.
  const e = Object.fromEntries(Object.keys(envExample).map((name) => [name, name.toLowerCase().replaceAll('_', '-')]));
  const appEnv = processEnvironment(environmentOf(compose, 'api', e));

  it('are accepted by core/config.ts, with the API listening on the published port', () => {
    expect(config.api.host).toBe('0.0.0.0');
    expect(config.api.port).toBe(Number(envExample.API_PORT));
    expect(compose.services.api!.ports).toEqual(['${API_PORT}:${API_PORT}']);
    expect(config.temporal).toMatchObject({ address: 'temporal:7233', devServer: false, namespace: envExample.TEMPORAL_NAMESPACE });
  });

  it('pass SWEEP_PARALLELISM and ML_THREADS_PER_TRIAL to the workers, empty meaning the default', () => {
    expect([config.sweepParallelism, config.mlThreadsPerTrial]).toEqual([undefined, undefined]);
    const set = loadConfig(
      processEnvironment(environmentOf(compose, 'worker', { ...envExample, SWEEP_PARALLELISM: '3', ML_THREADS_PER_TRIAL: '2' })),
    );
    expect([set.sweepParallelism, set.mlThreadsPerTrial]).toEqual([3, 2]);
  });

  it('point the registry at MySQL with the database and user of .env.example', () => {
    expect(mysqlConnection(appEnv.REGISTRY_URL!)).toEqual({
      host: 'mysql',
      port: 3306,
      user: e.MYSQL_USER,
      password: e.MYSQL_PASSWORD,
      database: e.MYSQL_DATABASE,
    });
    expect(environmentOf(compose, 'mysql', e)).toEqual({
      MYSQL_DATABASE: e.MYSQL_DATABASE,
      MYSQL_USER: e.MYSQL_USER,
      MYSQL_PASSWORD: e.MYSQL_PASSWORD,
      MYSQL_ROOT_PASSWORD: e.MYSQL_ROOT_PASSWORD,
      GRAFANA_MYSQL_USER: e.GRAFANA_MYSQL_USER,
      GRAFANA_MYSQL_PASSWORD: e.GRAFANA_MYSQL_PASSWORD,
    });
  });

  it('point measurements at InfluxDB 2.x through its v1 database, retention policy and user, writing to the bucket', () => {
    expect(parseInfluxUrl(appEnv.MEASUREMENTS_URL!)).toEqual({
      url: 'http://influxdb:8086',
      database: e.INFLUXDB_DATABASE,
      retentionPolicy: e.INFLUXDB_RETENTION_POLICY,
      token: e.INFLUXDB_TOKEN,
      org: e.INFLUXDB_ORG,
      bucket: e.INFLUXDB_BUCKET,
      user: e.INFLUXDB_USER,
      password: e.INFLUXDB_PASSWORD,
    });
    expect(environmentOf(compose, 'influxdb', e)).toMatchObject({
      DOCKER_INFLUXDB_INIT_MODE: 'setup',
      DOCKER_INFLUXDB_INIT_ORG: e.INFLUXDB_ORG,
      DOCKER_INFLUXDB_INIT_BUCKET: e.INFLUXDB_BUCKET,
      DOCKER_INFLUXDB_INIT_ADMIN_TOKEN: e.INFLUXDB_TOKEN,
      INFLUXDB_DATABASE: e.INFLUXDB_DATABASE,
      INFLUXDB_RETENTION_POLICY: e.INFLUXDB_RETENTION_POLICY,
      INFLUXDB_USER: e.INFLUXDB_USER,
      INFLUXDB_PASSWORD: e.INFLUXDB_PASSWORD,
    });
    // The init script maps exactly those names to the bucket and the v1 user.
    const initScript = read('deploy/influxdb/init/v1-compatibility.sh');
    for (const text of ['--db "$INFLUXDB_DATABASE"', '--rp "$INFLUXDB_RETENTION_POLICY"', 'ensure_v1_user "$INFLUXDB_USER"']) {
      expect(initScript).toContain(text);
    }
  });

  it("point objects at Versity's S3 gateway with the MINIO_ROOT_* credentials and the bucket of .env.example", () => {
    expect(parseS3Url(appEnv.OBJECTS_URL!)).toMatchObject({
      endPoint: 's3',
      port: 9000,
      useSSL: false,
      accessKey: e.MINIO_ROOT_USER,
      secretKey: e.MINIO_ROOT_PASSWORD,
      bucket: e.S3_BUCKET,
    });
    expect(environmentOf(compose, 's3', e)).toEqual({
      ROOT_ACCESS_KEY_ID: e.MINIO_ROOT_USER,
      ROOT_SECRET_ACCESS_KEY: e.MINIO_ROOT_PASSWORD,
    });
  });

  it("run MariaDB, the server the tests run (Debian's mariadb-server)", () => {
    expect(read('scripts/services/mariadb.sh')).toMatch(/apt_install mariadb-server/);
    expect(compose.services.mysql!.image).toMatch(/^mariadb:\d+\.\d+$/);
  });

  // Where the test server is installed (scripts/services/up.sh ran), its version is the image's.
  const testServerVersion = spawnSync('mariadbd', ['--version'], { encoding: 'utf8' }).stdout?.match(/Ver (\d+\.\d+)\./)?.[1];
  it.runIf(testServerVersion)('run the MariaDB version of the test server', () => {
    expect(compose.services.mysql!.image).toBe(`mariadb:${testServerVersion}`);
  });

  it("run the Temporal server, admin tools and Web UI of the versions the tests' servers build", () => {
    const version = (script: string, name: string) => read(`scripts/services/${script}`).match(new RegExp(`^${name}=v(\\S+)$`, 'm'))?.[1];
    const server = version('temporal.sh', 'TEMPORAL_VERSION');
    expect(server).toMatch(/^\d+\.\d+\.\d+$/);
    expect(compose.services.temporal!.image).toBe(`temporalio/server:${server}`);
    expect(compose.services['temporal-schema']!.image).toBe(`temporalio/admin-tools:${server}`);
    expect(compose.services['temporal-init']!.image).toBe(`temporalio/admin-tools:${server}`);
    expect(compose.services['temporal-ui']!.image).toBe(`temporalio/ui:${version('temporal-ui.sh', 'UI_VERSION')}`);
  });

  it('run the InfluxDB the tests run: the version scripts/services/influxdb.sh builds', () => {
    const version = read('scripts/services/influxdb.sh').match(/^INFLUXDB_VERSION=(\S+)$/m)?.[1];
    expect(version).toMatch(/^2\.\d+\.\d+$/);
    expect(compose.services.influxdb!.image).toBe(`influxdb:${version}`);
  });

  it('run the S3 server the tests run: versitygw at the version scripts/services/versitygw.sh builds, on its volume', () => {
    const script = read('scripts/services/versitygw.sh');
    const version = script.match(/^VERSITYGW_VERSION=(\S+)$/m)?.[1];
    expect(version).toMatch(/^v\d+\.\d+\.\d+$/);
    const s3 = compose.services.s3!;
    expect(s3.image).toBe(`versity/versitygw:${version}`);
    // the same backend and health endpoint as the test server's command line
    expect(s3.command).toEqual(['--port', ':9000', '--health', '/health', 'posix', '/data']);
    expect(script).toMatch(/--health \/health .*posix "\$DIR\/data"/);
    expect(s3.healthcheck!.test).toEqual(['CMD', 'wget', '-q', '-O', '/dev/null', 'http://127.0.0.1:9000/health']);
  });

  it('carry secrets with any character: every parser gets back what .env holds', () => {
    const secret = 'p/@#?%&$:+ \'"=x%41';
    const env = { ...envExample };
    for (const name of [
      'MYSQL_USER',
      'MYSQL_PASSWORD',
      'INFLUXDB_USER',
      'INFLUXDB_PASSWORD',
      'INFLUXDB_TOKEN',
      'MINIO_ROOT_USER',
      'MINIO_ROOT_PASSWORD',
    ]) {
      env[name] = `${name.toLowerCase()}${secret}`;
    }
    const urls = processEnvironment(environmentOf(compose, 'api', env));
    expect(mysqlConnection(urls.REGISTRY_URL!)).toMatchObject({ user: env.MYSQL_USER, password: env.MYSQL_PASSWORD });
    expect(parseInfluxUrl(urls.MEASUREMENTS_URL!)).toMatchObject({
      user: env.INFLUXDB_USER,
      password: env.INFLUXDB_PASSWORD,
      token: env.INFLUXDB_TOKEN,
      bucket: env.INFLUXDB_BUCKET,
    });
    expect(parseS3Url(urls.OBJECTS_URL!)).toMatchObject({ accessKey: env.MINIO_ROOT_USER, secretKey: env.MINIO_ROOT_PASSWORD });
  });

  it('are refused with an error that names the setting and the fix, not the secret, when pasted unencoded', () => {
    const raw = { user: 'mlops', password: 'pa/ss#word?' };
    const attempts = [
      () => mysqlConnection(`mysql://${raw.user}:${raw.password}@mysql:3306/mlops`),
      () => parseInfluxUrl(`influxdb://${raw.user}:${raw.password}@influxdb:8086/mlops`),
      () => parseS3Url(`s3://${raw.user}:${raw.password}@s3:9000/mlops`),
      () => mysqlConnection('mysql://mlops:100%sure@mysql:3306/mlops'),
    ];
    for (const attempt of attempts) {
      expect(attempt).toThrow(
        expect.objectContaining({ code: 'invalid_store_url', message: expect.stringMatching(/_URL .*percent-encode/) }),
      );
      expect(attempt).not.toThrow(/pa\/ss|100%sure/);
    }
  });

  it('are the ones the tests use: scripts/services/*.sh read the same names of .env.example', () => {
    expect(read('scripts/services/lib.sh')).toMatch(/source "\$REPO_DIR\/\.env\.example"/);
    const namesIn = (text: string) =>
      [...text.matchAll(/\$\{?([A-Z][A-Z0-9_]*)\}?/g)].map(([, name]) => name!).filter((name) => name in envExample);
    const scripts = fs.readdirSync(path.join(REPO_DIR, 'scripts/services'));
    const roles = [
      { script: /mariadb|mysql/, service: 'mysql', url: 'REGISTRY_URL' },
      { script: /influx/, service: 'influxdb', url: 'MEASUREMENTS_URL' },
      { script: /versitygw|minio|s3/, service: 's3', url: 'OBJECTS_URL' },
    ];
    const problems = roles.flatMap(({ script: pattern, service, url }) => {
      const script = scripts.find((file) => pattern.test(file));
      if (!script) return [`no test server script for ${service} in scripts/services`];
      const appSide = { REGISTRY_URL: /^MYSQL_/, MEASUREMENTS_URL: /^INFLUXDB_/, OBJECTS_URL: /^(MINIO_|S3_)/ }[url]!;
      const appNames = Object.keys(compose.services.api!.environment!).filter((name) => appSide.test(name));
      const inCompose = new Set([...namesIn(JSON.stringify(compose.services[service]!.environment)), ...appNames]);
      const names = namesIn(read(`scripts/services/${script}`));
      if (names.length === 0) return [`${script} names no setting of .env.example`];
      return names.filter((name) => !inCompose.has(name)).map((name) => `${script} uses ${name}, compose's ${service} does not`);
    });
    expect(problems).toEqual([]);
  });

  it('run MySQL with the character set of the test server, utf8mb4', () => {
    const charsetOf = (text: string) => text.match(/^\s*character-set-server\s*=\s*(\S+)\s*$/m)?.[1];
    const server = fs.readdirSync(path.join(REPO_DIR, 'scripts/services')).find((f) => /mariadb|mysql/.test(f))!;
    expect(charsetOf(read(`scripts/services/${server}`))).toBe('utf8mb4');
    expect(compose.services.mysql!.command).toContain('--character-set-server=utf8mb4');
  });
});

describe('Temporal and Grafana in docker-compose.yml', () => {
  it('chooses the number of history shards, which can never change after the first start', () => {
    const shards = Number(compose.services.temporal!.environment!.NUM_HISTORY_SHARDS);
    expect(Number.isInteger(shards) && shards > 4).toBe(true);
  });

  it('leaves development-only switches out of the dynamic config (search attributes: temporal-init waits for them)', () => {
    expect(read('deploy/temporal/dynamicconfig/edge-mlops.yaml')).not.toMatch(/^system\.forceSearchAttributesCacheRefreshOnRead:/m);
    expect(read('deploy/temporal/init-namespace.sh')).toMatch(/temporal workflow list .*--query "\$probe"/);
  });

  it('registers the search attributes the workflow sets', () => {
    const registered = String(compose.services['temporal-init']!.environment!.TEMPORAL_SEARCH_ATTRIBUTES).split(' ');
    const typeName = (type: string) => type.charAt(0) + type.slice(1).toLowerCase();
    expect(registered).toEqual(SEARCH_ATTRIBUTES.map((attribute) => `${attribute.name}=${typeName(attribute.type)}`));
  });

  it('checks the worker by the task queues it polls', () => {
    expect(compose.services.worker!.healthcheck!.test).toEqual(['CMD', 'node', '--import', 'tsx', 'deploy/workerHealthcheck.ts']);
    expect(read('deploy/workerHealthcheck.ts')).toContain('queuesWithoutPoller');
    const polled = read('control/temporal/taskQueuePollers.ts');
    expect(polled).toContain('TASK_QUEUES.orchestration');
    expect(polled).toContain('TASK_QUEUES.training');
    expect(Object.keys(TASK_QUEUES)).toEqual(['orchestration', 'training']);
  });

  it('has Prometheus scrape the API and every worker replica on the ports .env gives them', () => {
    const prometheus = compose.services.prometheus as Service & { entrypoint?: string[] };
    expect(prometheus.entrypoint).toEqual(['/bin/sh', '/etc/prometheus/start.sh']);
    expect(prometheus.volumes).toEqual(
      expect.arrayContaining([
        './deploy/prometheus/prometheus.yml.in:/etc/prometheus/prometheus.yml.in:ro',
        './deploy/prometheus/start.sh:/etc/prometheus/start.sh:ro',
      ]),
    );
    const workerPort = Number(envExample.WORKER_METRICS_ADDRESS!.split(':').at(-1));
    // start.sh runs under sh with the container's paths moved to a scratch folder, and stops before Prometheus.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'prom-config-'));
    try {
      fs.copyFileSync(path.join(REPO_DIR, 'deploy/prometheus/prometheus.yml.in'), path.join(dir, 'prometheus.yml.in'));
      const script = read('deploy/prometheus/start.sh')
        .replaceAll('/etc/prometheus/', `${dir}/`)
        .replaceAll('/prometheus/prometheus.yml', `${dir}/prometheus.yml`)
        .replace(/^exec .*$/m, 'exit 0');
      execFileSync('sh', ['-c', script], { env: { PATH: process.env.PATH, ...environmentOf(compose, 'prometheus') } });
      const config = parseYaml(fs.readFileSync(path.join(dir, 'prometheus.yml'), 'utf8')) as {
        scrape_configs: { job_name: string; dns_sd_configs?: unknown[] }[];
      };
      const targets = Object.fromEntries(config.scrape_configs.map((job) => [job.job_name, job.dns_sd_configs]));
      expect(targets.api).toEqual([{ names: ['api'], type: 'A', port: Number(envExample.API_PORT) }]);
      expect(targets.worker).toEqual([{ names: ['worker'], type: 'A', port: workerPort }]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    const workerConfig = loadConfig(processEnvironment(environmentOf(compose, 'worker')));
    expect(workerConfig.workerMetricsAddress).toBe(`0.0.0.0:${workerPort}`);
  });

  it('gives Grafana every variable its provisioning files name, and mounts them where they say', () => {
    const grafanaEnv = environmentOf(compose, 'grafana');
    const files = fs
      .readdirSync(path.join(REPO_DIR, 'grafana/provisioning'), { recursive: true, encoding: 'utf8' })
      .filter((file) => /\.ya?ml$/.test(file))
      .map((file) => read(path.join('grafana/provisioning', file)));
    expect(files.length).toBeGreaterThan(0);
    const named = new Set(files.flatMap((text) => [...text.matchAll(/\$(?:__env)?\{?([A-Z_][A-Z0-9_]*)\}?/g)].map(([, name]) => name!)));
    expect([...named].filter((name) => !(name in grafanaEnv))).toEqual([]);
    // and nothing else: a setting Grafana is given but never reads (as INFLUXDB_RETENTION_POLICY was) misleads
    const unread = Object.keys(grafanaEnv).filter((name) => !name.startsWith('GF_') && !named.has(name));
    expect(unread).toEqual([]);
    expect(grafanaEnv.API_URL).toBe(`http://api:${envExample.API_PORT}`);
    expect(compose.services.grafana!.volumes).toEqual(
      expect.arrayContaining([
        './grafana/provisioning:/etc/grafana/provisioning:ro',
        './grafana/dashboards:/var/lib/grafana/dashboards:ro',
      ]),
    );
    expect(files.join('\n')).toContain('path: /var/lib/grafana/dashboards');
  });
});

describe('files the containers run', () => {
  it('keep LF line endings in every checkout (.gitattributes), shell scripts above all', () => {
    const attributes = fs.existsSync(path.join(REPO_DIR, '.gitattributes')) ? read('.gitattributes') : '';
    expect(attributes.split('\n').map((line) => line.trim().split(/\s+/).join(' '))).toContain('*.sh text eol=lf');
    const scripts = execFileSync('git', ['ls-files', '--eol', '*.sh', 'deploy'], { cwd: REPO_DIR, encoding: 'utf8' }).trim().split('\n');
    expect(scripts.length).toBeGreaterThan(5);
    expect(scripts.filter((line) => !/\sattr\/[^\t]*eol=lf/.test(line))).toEqual([]);
  });

  it('run on a Node.js that still has support (22), and build on every architecture', () => {
    const images = [...read('Dockerfile').matchAll(/^FROM node:(\d+)-/gm)].map(([, major]) => Number(major));
    expect(images).toHaveLength(2);
    expect(images.every((major) => major >= 22)).toBe(true);
    // install-native-tf.sh stops on non-x86-64; the Dockerfile must not run it (or require its result) there
    expect(read('Dockerfile').match(/dpkg --print-architecture\)" = amd64/g)).toHaveLength(2);
  });
});

/**
 * `docker compose config` parses, interpolates and validates without an engine. It runs where the docker CLI has the
 * compose plugin, or where a standalone Compose v2 `docker-compose` is on PATH (v1 lacks `--format json`).
 */
const composeCommand = ((): string[] | undefined => {
  for (const command of [['docker', 'compose'], ['docker-compose']]) {
    try {
      const version = execFileSync(command[0]!, [...command.slice(1), 'version'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      if (version.includes('Docker Compose version')) return command;
    } catch {
      // not installed: try the next one
    }
  }
  return undefined;
})();

describe.runIf(composeCommand)('docker compose config', () => {
  it('accepts the file with .env.example as its .env', () => {
    const [command, ...args] = composeCommand!;
    const resolved = JSON.parse(
      execFileSync(command!, [...args, '--env-file', '.env.example', '-f', 'docker-compose.yml', 'config', '--format', 'json'], {
        cwd: REPO_DIR,
        encoding: 'utf8',
      }),
    ) as ComposeFile;
    expect(Object.keys(resolved.services).sort()).toEqual(Object.keys(compose.services).sort());
    expect(resolved.services.api!.environment).toEqual(environmentOf(compose, 'api'));
    expect(resolved.services.mysql!.environment).toEqual(environmentOf(compose, 'mysql'));
  });
});
