/**
 * Serves the whole system in the foreground until Ctrl-C: Temporal's dev server (unless
 * TEMPORAL_ADDRESS names one), the workers and the API, each as a child process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { loadConfig } from '../core/config.js';
import { SEARCH_ATTRIBUTES } from '../workflows/shared.js';

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
start('api', tsx, ['api/server.ts'], env);
await waitForPort(config.api.host, config.api.port, 60_000);
console.log(`
  API             http://${config.api.host}:${config.api.port}   (health: /readyz)
  Temporal        ${temporalAddress}
  Temporal Web UI ${config.temporal.uiUrl}
  Data            ${config.dataDir}
  Ctrl-C stops everything.
`);
