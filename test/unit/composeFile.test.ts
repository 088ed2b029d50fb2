import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseEnv } from 'node:util';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../../core/config.js';
import { parseInfluxUrl } from '../../core/stores/influx/influxLocation.js';
import { parseS3Url } from '../../core/stores/s3/s3Objects.js';
import { TASK_QUEUES } from '../../core/training/request.js';
import { MODEL_NAME_ATTRIBUTE, TRIGGER_ATTRIBUTE } from '../../workflows/definitions.js';

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

// --- Volumes: each stateful service keeps its data in a named volume; every bind-mounted path exists. ---

const DATA_PATHS: Record<string, string> = {
  'temporal-postgres': '/var/lib/postgresql/data',
  mysql: '/var/lib/mysql',
  influxdb: '/var/lib/influxdb2',
  minio: '/data',
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

  it('takes every ${NAME} from .env.example, and uses every setting there', () => {
    expect(interpolationProblems(compose, envExample)).toEqual([]);
    const unused = Object.keys(envExample).filter((name) => !usedVariables(compose).has(name));
    expect(unused).toEqual([]);

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

  it('runs the API and the worker from this repository with the same settings', () => {
    const { api, worker } = compose.services;
    expect(api!.build).toBe('.');
    expect(worker!.image).toBe(api!.image);
    expect(worker!.environment).toEqual(api!.environment);
    expect(api!.command).toEqual(['node', '--import', 'tsx', 'api/server.ts']);
    expect(worker!.command).toEqual(['node', '--import', 'tsx', 'workers/main.ts']);
    const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
    expect(scripts.api).toBe('tsx api/server.ts');
    expect(scripts.worker).toBe('tsx workers/main.ts');
  });
});

describe('the settings docker compose gives the stores', () => {
  const config = loadConfig(environmentOf(compose, 'api'));
  // Several settings share a value in .env.example (mlops); a value per name shows which name went where.
  const e = Object.fromEntries(Object.keys(envExample).map((name) => [name, name.toLowerCase().replaceAll('_', '-')]));
  const appEnv = environmentOf(compose, 'api', e);

  it('are accepted by core/config.ts, with the API listening on the published port', () => {
    expect(config.api.host).toBe('0.0.0.0');
    expect(config.api.port).toBe(Number(envExample.API_PORT));
    expect(compose.services.api!.ports).toEqual(['${API_PORT}:${API_PORT}']);
    expect(config.temporal).toMatchObject({ address: 'temporal:7233', devServer: false, namespace: envExample.TEMPORAL_NAMESPACE });
  });

  it('point the registry at MySQL with the database and user of .env.example', () => {
    const url = new URL(appEnv.REGISTRY_URL!);
    expect([url.protocol, url.hostname, url.port, url.pathname]).toEqual(['mysql:', 'mysql', '3306', `/${e.MYSQL_DATABASE}`]);
    expect([url.username, url.password]).toEqual([e.MYSQL_USER, e.MYSQL_PASSWORD]);
    expect(environmentOf(compose, 'mysql', e)).toEqual({
      MYSQL_DATABASE: e.MYSQL_DATABASE,
      MYSQL_USER: e.MYSQL_USER,
      MYSQL_PASSWORD: e.MYSQL_PASSWORD,
      MYSQL_ROOT_PASSWORD: e.MYSQL_ROOT_PASSWORD,
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
    for (const flag of ['--db "$INFLUXDB_DATABASE"', '--rp "$INFLUXDB_RETENTION_POLICY"', '--username "$INFLUXDB_USER"']) {
      expect(initScript).toContain(flag);
    }
  });

  it('point objects at MinIO with its root credentials and the bucket of .env.example', () => {
    expect(parseS3Url(appEnv.OBJECTS_URL!)).toMatchObject({
      endPoint: 'minio',
      port: 9000,
      useSSL: false,
      accessKey: e.MINIO_ROOT_USER,
      secretKey: e.MINIO_ROOT_PASSWORD,
      bucket: e.S3_BUCKET,
    });
    expect(environmentOf(compose, 'minio', e)).toEqual({ MINIO_ROOT_USER: e.MINIO_ROOT_USER, MINIO_ROOT_PASSWORD: e.MINIO_ROOT_PASSWORD });
  });

  it('need no URL escaping in .env.example (compose pastes the values into the store URLs as they are)', () => {
    const urlVariables = ['REGISTRY_URL', 'MEASUREMENTS_URL', 'OBJECTS_URL'].flatMap((name) =>
      [...String(compose.services.api!.environment![name]).matchAll(VARIABLE)].map(([, variable]) => variable!),
    );
    expect(urlVariables.length).toBeGreaterThan(10);
    expect(urlVariables.filter((name) => encodeURIComponent(envExample[name]!) !== envExample[name])).toEqual([]);
  });

  it('are the ones the tests use: scripts/services/*.sh read the same names of .env.example', () => {
    expect(read('scripts/services/lib.sh')).toMatch(/source "\$REPO_DIR\/\.env\.example"/);
    const namesIn = (text: string) =>
      [...text.matchAll(/\$\{?([A-Z][A-Z0-9_]*)\}?/g)].map(([, name]) => name!).filter((name) => name in envExample);
    const scripts = fs.readdirSync(path.join(REPO_DIR, 'scripts/services'));
    const roles = [
      { script: /mariadb|mysql/, service: 'mysql', url: 'REGISTRY_URL' },
      { script: /influx/, service: 'influxdb', url: 'MEASUREMENTS_URL' },
      { script: /versitygw|minio|s3/, service: 'minio', url: 'OBJECTS_URL' },
    ];
    const problems = roles.flatMap(({ script: pattern, service, url }) => {
      const script = scripts.find((file) => pattern.test(file));
      if (!script) return [`no test server script for ${service} in scripts/services`];
      const inCompose = new Set(namesIn(JSON.stringify(compose.services[service]!.environment) + compose.services.api!.environment![url]));
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
  it('registers the search attributes the workflow sets', () => {
    const registered = String(compose.services['temporal-init']!.environment!.TEMPORAL_SEARCH_ATTRIBUTES).split(' ');
    const typeName = (type: string) => type.charAt(0) + type.slice(1).toLowerCase();
    expect(registered).toEqual(
      [MODEL_NAME_ATTRIBUTE, TRIGGER_ATTRIBUTE].map((attribute) => `${attribute.name}=${typeName(attribute.type)}`),
    );
  });

  it('checks the worker by the task queues it polls', () => {
    expect(compose.services.worker!.healthcheck!.test).toEqual(['CMD', 'node', '--import', 'tsx', 'deploy/workerHealthcheck.ts']);
    expect(read('deploy/workerHealthcheck.ts')).toContain('queuesWithoutPoller');
    const polled = read('core/taskQueuePollers.ts');
    expect(polled).toContain('TASK_QUEUES.orchestration');
    expect(polled).toContain('TASK_QUEUES.training');
    expect(Object.keys(TASK_QUEUES)).toEqual(['orchestration', 'training']);
  });

  it('gives Grafana every variable its provisioning files name, and mounts them where they say', () => {
    const grafanaEnv = environmentOf(compose, 'grafana');
    const files = fs
      .readdirSync(path.join(REPO_DIR, 'grafana/provisioning'), { recursive: true, encoding: 'utf8' })
      .filter((file) => /\.ya?ml$/.test(file))
      .map((file) => read(path.join('grafana/provisioning', file)));
    expect(files.length).toBeGreaterThan(0);
    const named = new Set(
      files.flatMap((text) => [...text.matchAll(/\$(?:__env)?\{([A-Za-z_][A-Za-z0-9_]*)\}/g)].map(([, name]) => name!)),
    );
    expect([...named].filter((name) => !(name in grafanaEnv))).toEqual([]);
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
