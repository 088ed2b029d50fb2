import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'api-startup-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Runs api/server.ts until it exits or says it listens (then stops it): what it printed and how it ended. */
function startApiProcess(env: Record<string, string>): Promise<{ code: number | null; output: string; listened: boolean }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'api/server.ts'], {
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
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  const onData = (chunk: Buffer) => {
    output += chunk.toString();
    if (!listened && output.includes('API listening')) {
      listened = true;
      child.kill('SIGTERM');
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  return new Promise((resolve) =>
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output, listened });
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
});
