/**
 * The embedded system as `npm start` runs it, each part its own process so its memory can
 * be measured: Temporal's dev server (.tools/bin/temporal), the workers and the API, on free
 * ports, with every store in a throwaway DATA_DIR. Output goes to log files in that folder.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Connection } from '@temporalio/client';
import { API_NODE_FLAGS } from '../api/nodeFlags.js';
import { tsxLoader } from './forkJob.js';
import { SEARCH_ATTRIBUTES, TASK_QUEUES } from '../workflows/shared.js';

export const ADMIN_TOKEN = 'bench-admin-token';
const repoRoot = fileURLToPath(new URL('..', import.meta.url));

// temporal.api.enums.v1.TaskQueueType
const WORKFLOW_TASK_QUEUE = 1;
const ACTIVITY_TASK_QUEUE = 2;

export interface Stack {
  apiUrl: string;
  temporalAddress: string;
  dataDir: string;
  pids: { temporal: number; workers: number; api: number };
  logTail(part: 'temporal' | 'workers' | 'api', lines?: number): string;
  close(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number, exited: () => string | undefined): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const died = exited();
    if (died) throw new Error(`${what}: ${died}`);
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what}: not ready within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * The nice value both servers under load ask for (`BENCH_SERVER_NICE`, default -10; the API through EVENT_LOOP_NICE,
 * the thesis server's process directly): the rovers, Temporal and the workers share the cores, as they would not in
 * the field. Not root (no CAP_SYS_NICE): refused, both run at the rovers' priority, and the API's log says so.
 */
export const BENCH_SERVER_NICE = Number(process.env.BENCH_SERVER_NICE ?? -10);

/** Starts the three processes and resolves once the API is ready and both task queues have pollers. */
export async function startStack(dataDir: string): Promise<Stack> {
  const binary = path.join(repoRoot, '.tools/bin/temporal');
  if (!fs.existsSync(binary)) throw new Error(`${binary} is missing: run npm run setup`);
  const logsDir = path.join(dataDir, 'logs');
  fs.mkdirSync(logsDir, { recursive: true });
  const [temporalPort, apiPort] = [await freePort(), await freePort()];
  const temporalAddress = `127.0.0.1:${temporalPort}`;
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const children: Record<string, ChildProcess> = {};
  const logPath = (name: string) => path.join(logsDir, `${name}.log`);

  const start = (name: 'temporal' | 'workers' | 'api', command: string, args: string[]) => {
    const log = fs.openSync(logPath(name), 'a');
    const child = spawn(command, args, {
      cwd: repoRoot,
      stdio: ['ignore', log, log],
      env: {
        LOG_LEVEL: 'warn',
        ...process.env,
        // Embedded stores in DATA_DIR, whatever the caller's environment points at.
        REGISTRY_URL: undefined,
        MEASUREMENTS_URL: undefined,
        OBJECTS_URL: undefined,
        DATA_DIR: dataDir,
        TEMPORAL_ADDRESS: temporalAddress,
        API_PORT: String(apiPort),
        API_HOST: '127.0.0.1',
        ADMIN_TOKEN,
        EVENT_LOOP_NICE: String(BENCH_SERVER_NICE),
      },
    });
    fs.closeSync(log);
    children[name] = child;
    return child;
  };
  const exited = () => {
    for (const [name, child] of Object.entries(children)) {
      if (child.exitCode !== null || child.signalCode !== null)
        return `${name} exited (code ${child.exitCode}, signal ${child.signalCode}); log ${logPath(name)}`;
    }
    return undefined;
  };
  const logTail = (name: string, lines = 30) => {
    try {
      return fs.readFileSync(logPath(name), 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  };
  const close = async () => {
    // API and workers first, so nothing talks to a Temporal server that is already gone.
    for (const name of ['api', 'workers', 'temporal']) {
      const child = children[name];
      if (!child || child.exitCode !== null || child.signalCode !== null) continue;
      child.kill('SIGTERM');
      await new Promise((resolve) => {
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        child.once('exit', () => resolve(clearTimeout(timer)));
      });
    }
  };

  try {
    start('temporal', binary, [
      'server',
      'start-dev',
      '--headless',
      '--ip',
      '127.0.0.1',
      '--port',
      String(temporalPort),
      '--db-filename',
      path.join(dataDir, 'temporal.db'),
      ...SEARCH_ATTRIBUTES.flatMap((key) => ['--search-attribute', `${key.name}=Keyword`]),
      '--log-level',
      'warn',
    ]);
    let connection: Connection | undefined;
    await waitFor(
      'temporal dev server',
      async () => Boolean((connection = await Connection.connect({ address: temporalAddress, connectTimeout: '1s' }))),
      60_000,
      exited,
    );
    const node = (entry: string, nodeArgs: string[] = []): [string, string[]] => [
      process.execPath,
      [...nodeArgs, '--import', tsxLoader, path.join(repoRoot, entry)],
    ];
    // One after the other: both migrate the same SQLite registry on start-up, and two
    // processes migrating at once fail ("table registry_migrations already exists").
    start('workers', ...node('workers/main.ts'));
    try {
      const hasPoller = async (queue: string, type: number) => {
        const answer = await connection!.workflowService.describeTaskQueue({
          namespace: 'default',
          taskQueue: { name: queue },
          taskQueueType: type,
        });
        return (answer.pollers?.length ?? 0) > 0;
      };
      await waitFor(
        'workers',
        async () =>
          (await hasPoller(TASK_QUEUES.orchestration, WORKFLOW_TASK_QUEUE)) && (await hasPoller(TASK_QUEUES.training, ACTIVITY_TASK_QUEUE)),
        120_000,
        exited,
      );
    } finally {
      await connection?.close();
    }
    // BENCH_API_PROFILE=<dir>: the API writes a V8 CPU profile of each of its threads there when it stops.
    // BENCH_API_NODE_ARGS: more Node options for the API alone (space-separated: --trace-gc, --import a preload, ...).
    const profile = process.env.BENCH_API_PROFILE;
    const nodeArgs = [
      ...(profile ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(profile)}`] : []),
      ...(process.env.BENCH_API_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
    ];
    start('api', ...node('api/server.ts', [...API_NODE_FLAGS, ...nodeArgs]));
    await waitFor('api', async () => (await fetch(`${apiUrl}/readyz`)).ok, 60_000, exited);
  } catch (err) {
    const failed = Object.keys(children).filter((name) => children[name].exitCode !== null || children[name].signalCode !== null);
    await close();
    const tails = (failed.length ? failed : Object.keys(children)).map((name) => `--- ${name} log ---\n${logTail(name, 20)}`).join('\n');
    throw new Error(`${(err as Error).message}\n${tails}`, { cause: err });
  }
  return {
    apiUrl,
    temporalAddress,
    dataDir,
    pids: { temporal: children.temporal.pid!, workers: children.workers.pid!, api: children.api.pid! },
    logTail,
    close,
  };
}
