/**
 * Every command-line entry as an operator meets it: --help prints the usage with examples and exits 0; a wrong
 * flag is one line plus the usage and exit code 2; an error the operator caused (a missing file, an API that is
 * not there, a wrong token) is one line and exit code 1. Never a stack trace.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startDevServer, type DevServer } from '../support/temporalEnv.js';

const tsx = path.resolve('node_modules/.bin/tsx');
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-test-'));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command with a deadline (an entry that ignores --help and starts serving is killed, and fails). */
function run(command: string, args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 60_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: { ...process.env, DATA_DIR: dataDir, API_PORT: '1', LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const entries: [string, string, string[]][] = [
  ['rover', tsx, ['edge/cli.ts']],
  ['rerun', tsx, ['scripts/rerun.ts']],
  ['sensor-faults', tsx, ['scripts/sensorFaults.ts']],
  ['replay', tsx, ['scripts/replay.ts']],
  ['grafana', tsx, ['grafana/src/generate.ts']],
  ['demo (scripts/demo.ts)', tsx, ['scripts/demo.ts']],
  ['demo (npm run demo)', 'bash', ['scripts/demo.sh']],
  ['serve', tsx, ['scripts/serve.ts']],
  ['start (npm start)', 'bash', ['scripts/start.sh']],
  ['api', tsx, ['api/server.ts']],
  ['worker', tsx, ['workers/main.ts']],
];

const noStack = (r: Run) => expect(`${r.stdout}\n${r.stderr}`).not.toMatch(/^\s+at /m);

describe.each(entries)('%s', (_name, command, args) => {
  it.each(['--help', '-h'])('%s prints the usage with examples and exits 0', async (flag) => {
    const r = await run(command, [...args, flag]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^usage: /);
    expect(r.stdout).toMatch(/^examples?:/m);
    noStack(r);
    expect(r.code).toBe(0);
  });

  it('refuses an unknown flag with one line and the usage, exit code 2', async () => {
    const r = await run(command, [...args, '--bogus']);
    const [first, ...rest] = r.stderr.split('\n');
    expect(first).toMatch(/^error: unknown option --bogus/);
    expect(rest.join('\n')).toMatch(/^usage: /m);
    noStack(r);
    expect(r.code).toBe(2);
  });
});

describe('operator mistakes', () => {
  let api: http.Server;
  let apiUrl: string;
  const seen: string[] = [];
  beforeAll(async () => {
    // An API that refuses every token, as the real one does a wrong one.
    api = http.createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      req.resume();
      res
        .writeHead(401, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: { code: 'invalid_token', message: 'wrong token' } }));
    });
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
    apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
  });
  afterAll(() => api.close());

  const oneLine = (r: Run, code: number, message: RegExp) => {
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
    noStack(r);
    expect(r.code).toBe(code);
  };

  it('rerun: a typo in a flag names the flag meant', async () => {
    const r = await run(tsx, ['scripts/rerun.ts', '--model', 'm', '--from-versoin', '2']);
    expect(r.stderr.split('\n')[0]).toBe('error: unknown option --from-versoin (did you mean --from-version?)');
    expect(r.code).toBe(2);
  });

  it('rerun: a flag without its value', async () => {
    const r = await run(tsx, ['scripts/rerun.ts', '--model']);
    expect(r.stderr.split('\n')[0]).toBe('error: --model needs a value');
    expect(r.code).toBe(2);
  });

  it('rerun: the API down says which URL and what to start', async () => {
    const port = await freePort();
    const r = await run(tsx, ['scripts/rerun.ts', '--model', 'm', '--from-version', '1'], { API_URL: `http://127.0.0.1:${port}` });
    oneLine(
      r,
      1,
      new RegExp(`^error: cannot reach the API at http://127.0.0.1:${port} \\(connection refused\\): start it with \`npm start\``),
    );
  });

  it('rerun: a refused token names the setting', async () => {
    const r = await run(tsx, ['scripts/rerun.ts', '--model', 'm', '--from-version', '1'], { API_URL: apiUrl, ADMIN_TOKEN: 'wrong-token' });
    oneLine(r, 1, /-> 401 invalid_token: wrong token; set ADMIN_TOKEN to the API's admin token/);
  });

  it('replay: a missing history file', async () => {
    const r = await run(tsx, ['scripts/replay.ts', '--file', path.join(dataDir, 'missing.json')]);
    oneLine(r, 1, /^error: cannot read the history file .*missing\.json: no such file/);
  });

  it('replay: Temporal down says which address and what to start', async () => {
    const port = await freePort();
    const r = await run(tsx, ['scripts/replay.ts', '--workflow-id', 'nope'], { TEMPORAL_ADDRESS: `127.0.0.1:${port}` });
    oneLine(r, 1, new RegExp(`^error: cannot reach Temporal at 127.0.0.1:${port}.*npm start`));
  });

  describe('with Temporal up', () => {
    let server: DevServer;
    beforeAll(async () => {
      server = await startDevServer(await freePort(), path.join(dataDir, 'temporal.db'));
    });
    afterAll(() => server?.kill());

    it('replay: an unknown workflow id', async () => {
      const r = await run(tsx, ['scripts/replay.ts', '--workflow-id', 'no-such-workflow'], { TEMPORAL_ADDRESS: server.address });
      oneLine(r, 1, /^error: no workflow "no-such-workflow" in namespace default at /);
    });
  });

  it('rover: a wrong token fails before any run is driven, and the message names the token setting', async () => {
    seen.length = 0;
    const r = await run(tsx, ['edge/cli.ts', 'drive', '--api', apiUrl, '--client-id', 'rover-1', '--preset', 'beige-250', '--runs', '3'], {
      ROVER_TOKEN: 'wrong-token',
    });
    oneLine(r, 1, /^error: the API at http:\/\/127\.0\.0\.1:\d+ refused rover-1's token \(401 invalid_token: wrong token\): .*ROVER_TOKEN/);
    expect(r.stdout).not.toMatch(/^run \d/m);
    expect(seen).toHaveLength(1);
  });

  it('rover: an API that is not there fails before any run is driven', async () => {
    const port = await freePort();
    const r = await run(
      tsx,
      ['edge/cli.ts', 'drive', '--api', `http://127.0.0.1:${port}`, '--client-id', 'rover-1', '--preset', 'beige-250', '--runs', '3'],
      {
        ROVER_TOKEN: 'some-token',
      },
    );
    oneLine(r, 1, new RegExp(`^error: cannot reach the API at http://127.0.0.1:${port} \\(connection refused\\)`));
    expect(r.stdout).not.toMatch(/^run \d/m);
  });

  it('rover: the token is read from a file', async () => {
    seen.length = 0;
    const file = path.join(dataDir, 'rover.token');
    fs.writeFileSync(file, 'from-the-file\n');
    const r = await run(tsx, [
      'edge/cli.ts',
      'drive',
      '--api',
      apiUrl,
      '--client-id',
      'rover-1',
      '--token-file',
      file,
      '--preset',
      'beige-250',
      '--runs',
      '1',
    ]);
    oneLine(r, 1, /refused rover-1's token/);
    expect(seen).toEqual(['POST /predict']);
  });

  it('rover: no token given says the ways to give it', async () => {
    const r = await run(tsx, ['edge/cli.ts', 'drive', '--api', apiUrl, '--client-id', 'rover-1', '--preset', 'beige-250', '--runs', '1'], {
      ROVER_TOKEN: '',
    });
    expect(r.stderr.split('\n')[0]).toBe('error: the rover token is required: set ROVER_TOKEN, or give --token-file FILE');
    expect(r.code).toBe(2);
  });
});
