import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { API_NODE_FLAGS } from '../../api/nodeFlags.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Where free ports are looked for: above the project's services' fixed ports, below the kernel's ephemeral range. */
const LOWEST_FREE_PORT = 20_000;

/** The first port of the range the kernel gives outgoing connections (and listen(0)) on Linux. */
function ephemeralLow(): number {
  try {
    const low = Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) ? low : 32_768;
  } catch {
    return 32_768;
  }
}

function bindable(port: number): Promise<boolean> {
  const server = net.createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A loopback port no process listens on, below the ephemeral range: the process it is for binds it later (and again
 * after a restart), and a port from listen(0) could meanwhile become the local port of some outgoing connection
 * (CI saw an API of the fleet topology fail with "already in use" that way).
 */
export async function freePort(): Promise<number> {
  const high = ephemeralLow();
  for (let attempt = 0; high - LOWEST_FREE_PORT > 1000 && attempt < 100; attempt++) {
    const port = LOWEST_FREE_PORT + Math.floor(Math.random() * (high - LOWEST_FREE_PORT));
    if (await bindable(port)) return port;
  }
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface ApiProcess {
  url: string;
  child: ChildProcess;
  /** What the process wrote to stderr and stdout so far. */
  output(): string;
  /** SIGKILL, and resolves once the process is gone. */
  kill9(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * `api/server.ts` as its own process on a free port, ready once /healthz answers (deadline 90 s).
 * Node loads tsx itself (`--import tsx`): the `tsx` command would run the API in a child
 * process that a SIGKILL of the command does not reach.
 */
export async function spawnApi(env: Record<string, string>): Promise<ApiProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [...API_NODE_FLAGS, '--import', 'tsx', 'api/server.ts'], {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: 'warn', API_HOST: '127.0.0.1', API_PORT: String(port), TEMPORAL_ADDRESS: '127.0.0.1:1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the API exited with ${child.exitCode}:\n${output}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the API did not answer /healthz within 90 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    child,
    output: () => output,
    async kill9() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
