import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { API_NODE_FLAGS } from '../../api/nodeFlags.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'api-startup-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Each thread of a process: its name and nice value (/proc/<pid>/task/<tid>/stat fields 2 and 19). */
function threadNices(pid: number): { name: string; nice: number }[] {
  return fs.readdirSync(`/proc/${pid}/task`).map((tid) => {
    const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    return { name, nice: Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]) };
  });
}

/**
 * Runs api/server.ts until it exits or says it listens (then stops it): what it printed and how it ended, and the
 * nice value of each of its threads once it listened.
 */
function startApiProcess(
  env: Record<string, string>,
): Promise<{ code: number | null; output: string; listened: boolean; threads: { name: string; nice: number }[] }> {
  const child = spawn(process.execPath, [...API_NODE_FLAGS, '--import', 'tsx', 'api/server.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      DATA_DIR: fs.mkdtempSync(path.join(dir, 'data-')),
      TEMPORAL_ADDRESS: '127.0.0.1:1',
      ML_BACKEND: 'cpu',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let listened = false;
  let threads: { name: string; nice: number }[] = [];
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  const onData = (chunk: Buffer) => {
    output += chunk.toString();
    if (!listened && output.includes('API listening')) {
      listened = true;
      if (process.platform === 'linux') threads = threadNices(child.pid!);
      child.kill('SIGTERM');
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  return new Promise((resolve) =>
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output, listened, threads });
    }),
  );
}

describe('API start-up', () => {
  it.each([
    ['unset tokens', {}],
    ['an empty ADMIN_TOKEN', { ADMIN_TOKEN: '', WEBHOOK_TOKEN: 'a-secret-of-our-own-1234' }],
    ['the .env.example placeholders', { ADMIN_TOKEN: 'change-me-admin-token', WEBHOOK_TOKEN: 'change-me-webhook-token' }],
  ])(
    'refuses to listen on a non-loopback host with %s',
    async (_what, tokens) => {
      const result = await startApiProcess({ API_HOST: '0.0.0.0', API_PORT: '0', ...tokens });
      expect(result.listened).toBe(false);
      expect(result.code).toBe(1);
      expect(result.output).toMatch(/API_HOST=0\.0\.0\.0 is reachable from other machines, but .*ADMIN_TOKEN/);
    },
    150_000,
  );

  it('exits non-zero with a clear message when its port is taken', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as net.AddressInfo;
    try {
      const result = await startApiProcess({ API_HOST: '127.0.0.1', API_PORT: String(port) });
      expect(result.listened).toBe(false);
      expect(result.code).toBe(1);
      expect(result.output).toMatch(new RegExp(`127\\.0\\.0\\.1:${port} is already in use`));
    } finally {
      blocker.close();
    }
  }, 150_000);

  // The event loop asks for EVENT_LOOP_NICE before any thread starts; the inference thread runs WORK_THREADS_NICE below it.
  it.runIf(process.platform === 'linux')(
    'sets the event loop to EVENT_LOOP_NICE, its work threads below it',
    async () => {
      const nice = process.getuid?.() === 0 ? os.getPriority() - 3 : Math.min(19, os.getPriority() + 2);
      const result = await startApiProcess({ API_HOST: '127.0.0.1', API_PORT: '0', EVENT_LOOP_NICE: String(nice), WORK_THREADS_NICE: '4' });
      expect(result.listened).toBe(true);
      const [main] = result.threads;
      expect(main).toEqual({ name: 'node', nice });
      // The inference thread and the TensorFlow pool it starts: four levels below the event loop.
      expect(result.threads.filter((t) => t.nice === nice + 4).length).toBeGreaterThan(0);
      expect(result.threads.every((t) => t.nice >= nice)).toBe(true);
    },
    150_000,
  );
});
