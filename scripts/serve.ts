/**
 * Serves the whole system in the foreground until Ctrl-C: Temporal's dev server (unless
 * TEMPORAL_ADDRESS names one), the workers and the API, each as a child process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { API_NODE_FLAGS } from '../api/nodeFlags.js';
import { parseCommandLineOrExit } from '../core/commandLine.js';
import { DEV_ADMIN_TOKEN, loadConfig } from '../core/config.js';
import { SEARCH_ATTRIBUTES } from '../workflows/shared.js';

const USAGE = fs.readFileSync(new URL('serve-usage.txt', import.meta.url), 'utf8').trimEnd();
parseCommandLineOrExit(USAGE, process.argv.slice(2));

const config = loadConfig();
const children: ChildProcess[] = [];
let stopping = false;

function start(name: string, command: string, args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  const child = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, ...env } });
  child.on('exit', (code, signal) => {
    if (!stopping) {
      console.error(`[serve] ${name} exited (code ${code}, signal ${signal}); stopping everything`);
      void stop(1);
    }
  });
  children.push(child);
  return child;
}

async function waitForPort(host: string, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, host, () => resolve(socket.end() && true));
      socket.on('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`${host}:${port} did not open within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function stop(code: number) {
  if (stopping) return;
  stopping = true;
  // API and workers first, so nothing talks to a Temporal server that is already gone.
  for (const child of children.slice().reverse()) {
    child.kill('SIGTERM');
    await new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve(null);
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      child.once('exit', () => resolve(clearTimeout(timer)));
    });
  }
  process.exit(code);
}
process.once('SIGINT', () => void stop(0));
process.once('SIGTERM', () => void stop(0));

fs.mkdirSync(config.dataDir, { recursive: true });
const tsx = path.resolve('node_modules/.bin/tsx');
const temporalAddress = config.temporal.address;
const temporalPort = Number(temporalAddress.split(':').pop());
if (config.temporal.devServer) {
  const binary = path.resolve('.tools/bin/temporal');
  if (!fs.existsSync(binary)) throw new Error(`${binary} is missing: run npm run setup (or set TEMPORAL_ADDRESS)`);
  start('temporal', binary, [
    'server',
    'start-dev',
    '--db-filename',
    path.join(config.dataDir, 'temporal.db'),
    '--port',
    String(temporalPort),
    '--ui-port',
    String(config.temporal.uiPort),
    ...SEARCH_ATTRIBUTES.flatMap((key) => ['--search-attribute', `${key.name}=Keyword`]),
    '--log-level',
    'warn',
  ]);
  await waitForPort('127.0.0.1', temporalPort, 60_000);
}
const env = { TEMPORAL_ADDRESS: temporalAddress };
start('workers', tsx, ['workers/main.ts'], env);
start('api', process.execPath, [...API_NODE_FLAGS, '--import', 'tsx', 'api/server.ts'], env);
await waitForPort(config.api.host, config.api.port, 60_000);
const apiUrl = `http://${config.api.host}:${config.api.port}`;
// Last, once the workers poll (after their workflow bundling output), so it does not scroll away.
const notReady = await waitUntilReady(`${apiUrl}/readyz`, 300_000);
console.log(`
  ${notReady ? `Not ready after 5 minutes (${notReady}): see the output above.` : 'Ready.'}
  Console         ${apiUrl}/console/   (sign in with the admin token)
  Temporal Web UI ${config.temporal.uiUrl}
  API             ${apiUrl}   (health: /readyz)
  Admin token     ${config.api.adminToken === DEV_ADMIN_TOKEN ? `${DEV_ADMIN_TOKEN} (the development default; set ADMIN_TOKEN to change it)` : 'the ADMIN_TOKEN you set'}: Authorization: Bearer <token>
  Rover tokens    POST /clients answers a rover's token once; the rover CLI reads it from ROVER_TOKEN
  Temporal        ${temporalAddress}
  Data            ${config.dataDir}
  Ctrl-C stops everything.
`);

/** Undefined once the API says every part is ready (stores, Temporal, workers polling); else why not, at the deadline. */
async function waitUntilReady(url: string, timeoutMs: number): Promise<string | undefined> {
  const deadline = Date.now() + timeoutMs;
  let problem = 'no answer';
  while (Date.now() < deadline && !stopping) {
    try {
      const res = await fetch(url, { headers: { authorization: `Bearer ${config.api.adminToken}` } });
      if (res.ok) return undefined;
      const body = (await res.json().catch(() => ({}))) as { details?: Record<string, { status: string; error?: string }> };
      const down = Object.entries(body.details ?? {}).filter(([, c]) => c.status !== 'ok');
      problem = down.map(([name, c]) => `${name}: ${c.error ?? c.status}`).join('; ') || `/readyz answers ${res.status}`;
    } catch (err) {
      problem = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  return problem;
}
