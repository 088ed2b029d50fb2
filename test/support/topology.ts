import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, type WriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Connection } from '@temporalio/client';
import { Client as MinioClient } from 'minio';
import { API_NODE_FLAGS } from '../../api/nodeFlags.js';
import { queuesWithoutPoller } from '../../control/temporal/taskQueuePollers.js';
import { SEARCH_ATTRIBUTES } from '../../workflows/shared.js';
import { freePort } from './apiProcess.js';
import { createFreshMysqlDatabase } from './freshMysqlDatabase.js';
import { productionUrls, serversMissing, type ProductionUrls } from './productionServices.js';
import { spawnWorker } from './workerProcess.js';

/**
 * The production topology on this machine, as docs/ARCHITECTURE.md draws it: API replicas behind HAProxy, worker
 * processes, Temporal's real server (scripts/services/temporal.sh) and the production stores (scripts/services/up.sh).
 * Each topology gets stores and a Temporal namespace of its own; the servers themselves are shared.
 */

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');
const TEMPORAL_SCRIPT = path.join(ROOT, 'scripts/services/temporal.sh');
/** HAProxy's config, as scripts/topology/up.sh runs it: GET /readyz/replica checks, retries only of requests no replica received. */
const HAPROXY_CONFIG_SCRIPT = path.join(ROOT, 'scripts/topology/haproxy-config.sh');
/** A process not ready within this long fails the start (a busy 2-core machine starts a TensorFlow API in ~10-30 s). */
const READY_DEADLINE_MS = 180_000;
/** SIGTERM drains the spool first: a stop that takes longer than this is SIGKILLed and reported. */
const STOP_DEADLINE_MS = 180_000;

export interface TopologyOptions {
  name: string;
  /** API replicas behind the load balancer (default 2). */
  apis?: number;
  /** Worker processes (default 2). */
  workers?: number;
  /** Settings over the topology's own, for every app process. */
  env?: Record<string, string>;
}

export interface AppProcess {
  readonly name: string;
  /** An API's own address (not the load balancer's). */
  readonly url?: string;
  /** Its DATA_DIR (an API's spool volume), kept across restarts. */
  readonly dataDir: string;
  pid(): number | undefined;
  /** Starts it and resolves once it is ready: /readyz answers 200 (APIs), it polls every task queue (workers). */
  start(): Promise<void>;
  /** SIGTERM; resolves with the exit code once it has exited (null when a signal ended it). */
  stop(): Promise<number | null>;
  /** Sends the signal (default SIGKILL) and resolves once it has exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Everything it wrote to stdout and stderr, over all its starts. */
  log(): string;
}

export interface Topology {
  /** The load balancer (HAProxy) in front of every API. */
  readonly url: string;
  readonly apis: AppProcess[];
  readonly workers: AppProcess[];
  /** The settings every app process gets: its stores, Temporal's address and the topology's namespace, the tokens. */
  readonly env: Record<string, string>;
  readonly adminToken: string;
  /** The shared Temporal server's frontend (scripts/services/temporal.sh): restarting it affects every topology. */
  temporal: { restartFrontend(): Promise<void>; stopFrontend(): Promise<void>; startFrontend(): Promise<void> };
  /** HAProxy's view of each API (its stats): `UP`, `DOWN`, `UP 1/2` (going down), `DOWN 1/2` (coming up)... */
  balancer: { serverStates(): Promise<Record<string, string>> };
  /** Stops everything it started (not the shared servers) and drops its stores. */
  close(): Promise<void>;
}

/** What a topology needs from `scripts/services/up.sh` (`source .services/env`). */
interface SharedServers {
  urls: ProductionUrls;
  temporalAddress: string;
  servicesDir: string;
  haproxy: string;
}

function findHaproxy(): string | undefined {
  return ['/usr/sbin/haproxy', '/usr/bin/haproxy', '/usr/local/sbin/haproxy'].find((file) => existsSync(file));
}

function sharedServers(): SharedServers | undefined {
  const urls = productionUrls();
  const missing = [
    ...(urls ? [] : ['the production stores']),
    ...(process.env.TEMPORAL_SERVER_ADDRESS ? [] : ['TEMPORAL_SERVER_ADDRESS']),
    ...(process.env.SERVICES_DIR ? [] : ['SERVICES_DIR']),
    ...(findHaproxy() ? [] : ['haproxy']),
  ];
  if (missing.length === 0) {
    return {
      urls: urls!,
      temporalAddress: process.env.TEMPORAL_SERVER_ADDRESS!,
      servicesDir: process.env.SERVICES_DIR!,
      haproxy: findHaproxy()!,
    };
  }
  return serversMissing('topology suites', `the topology's servers are not running (${missing.join(', ')} missing)`);
}

/** Whether a topology can start here; in CI a missing server fails (throws), elsewhere the suite says so and skips. */
export function topologyAvailable(): boolean {
  return sharedServers() !== undefined;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A process of the topology, started again on the same port and DATA_DIR after a stop or kill. */
class ManagedProcess implements AppProcess {
  private child?: ChildProcess;
  private exited?: Promise<number | null>;
  private output = '';
  private readonly logFile: WriteStream;

  constructor(
    readonly name: string,
    readonly dataDir: string,
    private readonly spawnIt: () => ChildProcess,
    private readonly isReady: (pid: number) => Promise<boolean>,
    readonly url?: string,
  ) {
    mkdirSync(path.dirname(dataDir), { recursive: true });
    this.logFile = createWriteStream(path.join(path.dirname(dataDir), `${name}.log`), { flags: 'a' });
  }

  private running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  private append(text: string): void {
    this.output += text;
    this.logFile.write(text);
  }

  pid(): number | undefined {
    return this.running() ? this.child!.pid : undefined;
  }

  async start(): Promise<void> {
    if (this.running()) throw new Error(`${this.name} is running already`);
    await fs.mkdir(this.dataDir, { recursive: true });
    this.append(`=== ${new Date().toISOString()} start\n`);
    const child = this.spawnIt();
    this.child = child;
    child.stdout!.on('data', (d: Buffer) => this.append(d.toString()));
    child.stderr!.on('data', (d: Buffer) => this.append(d.toString()));
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    const deadline = Date.now() + READY_DEADLINE_MS;
    for (;;) {
      if (!this.running())
        throw new Error(`${this.name} exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${this.tail()}`);
      if (await this.isReady(child.pid!).catch(() => false)) return;
      if (Date.now() > deadline) {
        await this.kill();
        throw new Error(`${this.name} was not ready within ${READY_DEADLINE_MS / 1000} s:\n${this.tail()}`);
      }
      await sleep(250);
    }
  }

  async stop(): Promise<number | null> {
    if (!this.running()) return this.child?.exitCode ?? null;
    this.child!.kill('SIGTERM');
    const timer = setTimeout(() => {
      this.append(`=== still running ${STOP_DEADLINE_MS / 1000} s after SIGTERM: SIGKILL\n`);
      this.child?.kill('SIGKILL');
    }, STOP_DEADLINE_MS);
    try {
      return await this.exited!;
    } finally {
      clearTimeout(timer);
    }
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (!this.running()) return;
    this.child!.kill(signal);
    await this.exited;
  }

  log(): string {
    return this.output;
  }

  private tail(): string {
    return this.output.split('\n').slice(-60).join('\n');
  }

  async close(): Promise<void> {
    await this.stop();
    await new Promise((resolve) => this.logFile.end(resolve));
  }
}

/** A fresh InfluxDB 2 bucket mapped to an InfluxQL database of the same name, written and read with the admin token. */
async function createInfluxBucket(measurementsUrl: string, name: string): Promise<{ url: string; drop(): Promise<void> }> {
  const source = new URL(measurementsUrl);
  const token = source.searchParams.get('token');
  const org = source.searchParams.get('org');
  if (!token || !org) throw new Error('PRODUCTION_MEASUREMENTS_URL needs the token and org of InfluxDB 2 (scripts/services/influxdb.sh)');
  const base = `http://${source.host}`;
  const api = async (method: string, route: string, body?: unknown) => {
    const response = await fetch(`${base}${route}`, {
      method,
      headers: { Authorization: `Token ${token}`, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`InfluxDB ${method} ${route}: ${response.status} ${await response.text()}`);
    return response.status === 204 ? undefined : ((await response.json()) as Record<string, unknown>);
  };
  const orgs = (await api('GET', `/api/v2/orgs?org=${encodeURIComponent(org)}`))!.orgs as { id: string }[];
  const orgID = orgs[0].id;
  const bucket = (await api('POST', '/api/v2/buckets', { orgID, name, retentionRules: [] }))!.id as string;
  const dbrp = (await api('POST', '/api/v2/dbrps', {
    orgID,
    bucketID: bucket,
    database: name,
    retention_policy: 'autogen',
    default: true,
  }))!.id as string;
  const url = new URL(`influxdb://${source.host}/${name}`);
  url.search = new URLSearchParams({ retentionPolicy: 'autogen', org, bucket: name, token }).toString();
  return {
    url: url.toString(),
    async drop() {
      await api('DELETE', `/api/v2/dbrps/${dbrp}?orgID=${orgID}`);
      await api('DELETE', `/api/v2/buckets/${bucket}`);
    },
  };
}

/** A fresh bucket on the S3 server of `objectsUrl` (the object store creates it on open); emptied and removed by drop. */
function freshS3Bucket(objectsUrl: string, name: string): { url: string; drop(): Promise<void> } {
  const url = new URL(objectsUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => dropS3Bucket(url),
  };
}

/** `scripts/services/temporal.sh <command>` on the shared server. */
async function temporalScript(shared: SharedServers, command: string): Promise<void> {
  await run('bash', [TEMPORAL_SCRIPT, command], {
    cwd: ROOT,
    env: { ...process.env, SERVICES_DIR: shared.servicesDir },
    timeout: 180_000,
  });
}

/**
 * Fails at once, with what `temporal.sh status` says, when the shared server's frontend or backend (history, matching)
 * does not answer: every worker would otherwise wait its whole ready deadline on "Not enough hosts to serve the request".
 */
async function assertTemporalServes(shared: SharedServers): Promise<void> {
  try {
    await temporalScript(shared, 'status');
  } catch (err) {
    const { stdout = '', stderr = '' } = err as { stdout?: string; stderr?: string };
    throw new Error(`Temporal's shared server does not serve (scripts/services/temporal.sh status):\n${stdout}${stderr}`, {
      cause: err,
    });
  }
}

/** The namespace and the search attributes workflows/shared.ts declares, by the script compose runs (temporal-init). */
async function registerNamespace(temporalAddress: string, namespace: string): Promise<void> {
  await run('sh', [path.join(ROOT, 'deploy/temporal/init-namespace.sh')], {
    cwd: ROOT,
    env: {
      ...process.env,
      PATH: `${path.join(ROOT, '.tools/bin')}:${process.env.PATH}`,
      TEMPORAL_ADDRESS: temporalAddress,
      TEMPORAL_NAMESPACE: namespace,
      TEMPORAL_SEARCH_ATTRIBUTES: SEARCH_ATTRIBUTES.map((key) => `${key.name}=Keyword`).join(' '),
    },
    timeout: 240_000,
  });
}

/** Starts a topology: workers first (an API is ready only once workers poll), then the APIs, then the load balancer. */
export async function startTopology(options: TopologyOptions): Promise<Topology> {
  const shared = sharedServers();
  if (!shared) throw new Error('the topology needs scripts/services/up.sh (see topologyAvailable)');
  const id = `${options.name.toLowerCase().replace(/[^a-z0-9]+/g, '-')}-${randomBytes(4).toString('hex')}`;
  const root = await fs.mkdtemp(path.join(os.tmpdir(), `topology-${id}-`));
  const cleanups: (() => Promise<void>)[] = [async () => fs.rm(root, { recursive: true, force: true })];
  const cleanUp = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch((err) => console.warn(`topology ${id} clean-up: ${err}`));
  };
  try {
    const registry = await createFreshMysqlDatabase(shared.urls.registryUrl);
    cleanups.push(() => registry.drop());
    const measurements = await createInfluxBucket(shared.urls.measurementsUrl, `mlops_topology_${id.replace(/-/g, '_')}`);
    cleanups.push(() => measurements.drop());
    const objects = freshS3Bucket(shared.urls.objectsUrl, `topology-${id}`.slice(0, 63));
    cleanups.push(() => objects.drop());
    await assertTemporalServes(shared);
    const namespace = `topology-${id}`;
    await registerNamespace(shared.temporalAddress, namespace);
    // Every namespace costs the server's worker service pollers of its own: the shared server keeps only live ones.
    cleanups.push(async () => {
      await run(path.join(ROOT, '.tools/bin/temporal'), [
        'operator',
        'namespace',
        'delete',
        '--address',
        shared.temporalAddress,
        '--namespace',
        namespace,
        '--yes',
      ]);
    });

    const adminToken = `admin-${randomBytes(12).toString('hex')}`;
    const env: Record<string, string> = {
      REGISTRY_URL: registry.url,
      MEASUREMENTS_URL: measurements.url,
      OBJECTS_URL: objects.url,
      TEMPORAL_ADDRESS: shared.temporalAddress,
      TEMPORAL_NAMESPACE: namespace,
      ADMIN_TOKEN: adminToken,
      WEBHOOK_TOKEN: `webhook-${randomBytes(12).toString('hex')}`,
      LOG_LEVEL: 'warn',
      SWEEP_PARALLELISM: '1',
      ...options.env,
    };

    const connection = await Connection.connect({ address: shared.temporalAddress });
    cleanups.push(() => connection.close());
    const workers = await Promise.all(
      Array.from({ length: options.workers ?? 2 }, async (_, i) => {
        const name = `worker-${i + 1}`;
        const dataDir = path.join(root, name, 'data');
        const metricsAddress = `127.0.0.1:${await freePort()}`;
        return new ManagedProcess(
          name,
          dataDir,
          () => spawnWorker({ ...env, DATA_DIR: dataDir, WORKER_METRICS_ADDRESS: metricsAddress }, 'pipe'),
          async (pid) =>
            (await queuesWithoutPoller(connection.workflowService, namespace, { identityIncludes: `${pid}@${os.hostname()}` })).length ===
            0,
        );
      }),
    );
    const apiPorts = await Promise.all(Array.from({ length: options.apis ?? 2 }, () => freePort()));
    const apis = apiPorts.map((port, i) => {
      const name = `api-${i + 1}`;
      const dataDir = path.join(root, name, 'data');
      const url = `http://127.0.0.1:${port}`;
      return new ManagedProcess(
        name,
        dataDir,
        () =>
          spawn(process.execPath, [...API_NODE_FLAGS, '--import', 'tsx', 'api/server.ts'], {
            cwd: ROOT,
            env: { ...process.env, ...env, API_HOST: '127.0.0.1', API_PORT: String(port), DATA_DIR: dataDir },
            stdio: ['ignore', 'pipe', 'pipe'],
          }),
        async () => (await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(10_000) })).ok,
        url,
      );
    });
    cleanups.push(async () => {
      await Promise.all(apis.map((api) => api.close()));
      await Promise.all(workers.map((worker) => worker.close()));
    });
    await Promise.all(workers.map((worker) => worker.start()));
    await Promise.all(apis.map((api) => api.start()));

    const lbPort = await freePort();
    const lbUrl = `http://127.0.0.1:${lbPort}`;
    const configFile = path.join(root, 'haproxy.cfg');
    const replicas = apis.map((api, i) => `${api.name}=${apiPorts[i]}`);
    await fs.writeFile(configFile, (await run('bash', [HAPROXY_CONFIG_SCRIPT, String(lbPort), ...replicas])).stdout);
    const haproxy = new ManagedProcess(
      'haproxy',
      path.join(root, 'haproxy', 'data'),
      () => spawn(shared.haproxy, ['-db', '-f', configFile], { stdio: ['ignore', 'pipe', 'pipe'] }),
      async () => Object.values(await serverStates(lbUrl)).every((state) => state === 'UP'),
    );
    cleanups.push(() => haproxy.close());
    await haproxy.start();

    return {
      url: lbUrl,
      apis,
      workers,
      env,
      adminToken,
      temporal: {
        restartFrontend: () => temporalScript(shared, 'restart-frontend'),
        stopFrontend: () => temporalScript(shared, 'stop-frontend'),
        startFrontend: () => temporalScript(shared, 'start-frontend'),
      },
      balancer: { serverStates: () => serverStates(lbUrl) },
      close: cleanUp,
    };
  } catch (err) {
    await cleanUp();
    throw err;
  }
}

/** Each backend server's status from HAProxy's CSV stats (pxname, svname, ..., status is the 18th column). */
async function serverStates(lbUrl: string): Promise<Record<string, string>> {
  const csv = await (await fetch(`${lbUrl}/haproxy-stats;csv`)).text();
  const states: Record<string, string> = {};
  for (const line of csv.split('\n')) {
    const columns = line.split(',');
    if (columns[0] === 'apis' && columns[1] !== 'BACKEND' && columns[1] !== 'FRONTEND' && columns[17]) states[columns[1]] = columns[17];
  }
  return states;
}

/** Empties and removes the bucket an `s3://` URL names (nothing when it does not exist). */
export async function dropS3Bucket(url: URL): Promise<void> {
  const name = url.pathname.slice(1);
  const s3 = new MinioClient({
    endPoint: url.hostname,
    port: Number(url.port),
    useSSL: url.searchParams.get('tls') === 'true',
    accessKey: decodeURIComponent(url.username),
    secretKey: decodeURIComponent(url.password),
    pathStyle: true,
  });
  if (!(await s3.bucketExists(name))) return;
  const keys: string[] = [];
  for await (const item of s3.listObjectsV2(name, '', true)) if (item.name) keys.push(item.name);
  if (keys.length > 0) await s3.removeObjects(name, keys);
  await s3.removeBucket(name);
}
