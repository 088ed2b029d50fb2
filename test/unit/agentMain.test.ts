import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main, parseAgentArgs, runAgent } from '../../edge/agent/main.js';
import type { HealthSnapshot } from '../../edge/agent/health.js';

let dir: string;
let credentials: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'agent-main-'));
  credentials = path.join(dir, 'rover.env');
  await writeFile(credentials, 'CLIENT_ID=rover-1\nTOKEN=t0ken\n');
  await chmod(credentials, 0o600);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('rover agent command line', () => {
  it('has defaults for everything but the credentials and the API', () => {
    expect(parseAgentArgs(['--credentials', 'c.env', '--api', 'http://api:3000'])).toMatchObject({
      runs: 1,
      mode: 'model',
      freshMs: 500,
      maxFrames: 400,
      outboxMaxBytes: 200_000_000,
      check: false,
      real: { camera: 'rpicam', i2cBus: 1, pwmChip: 0, pwmChannel: 0 },
    });
    expect(parseAgentArgs(['--check']).check).toBe(true);
  });

  it.each([
    [['--api', 'http://a'], /--credentials FILE is required/],
    [['--credentials', 'c'], /--api URL is required/],
    [['--credentials', 'c', '--api', 'nope'], /--api must be a URL/],
    [['--credentials', 'c', '--api', 'http://a', '--mode', 'fast'], /--mode must be model or laser/],
    [['--credentials', 'c', '--api', 'http://a', '--runs', '0'], /--runs must be an integer >= 1/],
    [['--credentials', 'c', '--api', 'http://a', '--seed', '3'], /give --simulate PRESET/],
  ])('refuses %j', (argv, message) => {
    expect(() => parseAgentArgs(argv)).toThrow(message);
  });

  it('refuses credentials others can read, with the fix, before driving', async () => {
    const open = path.join(dir, 'open.env');
    await writeFile(open, 'CLIENT_ID=rover-1\nTOKEN=t0ken\n');
    await chmod(open, 0o644);
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      expect(await main(['--credentials', open, '--api', 'http://127.0.0.1:9', '--simulate', 'beige-250'])).toBe(1);
      expect(errors.mock.calls.flat().join('\n')).toContain(`chmod 600 ${open}`);
    } finally {
      errors.mockRestore();
    }
  });

  it('drives a simulated run with the API away: parks by the laser, keeps the frames and the report, writes its health', async () => {
    const outbox = path.join(dir, 'outbox');
    const healthFile = path.join(dir, 'health.json');
    const lines: string[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
    const cmd = parseAgentArgs([
      ...['--credentials', credentials, '--api', 'http://127.0.0.1:9', '--simulate', 'beige-250', '--seed', '4'],
      ...['--frame-interval-ms', '0', '--outbox', outbox, '--health-file', healthFile, '--timeout-ms', '500'],
    ]);
    expect(await runAgent(cmd, log)).toBe(0);
    const ended = lines.map((line) => JSON.parse(line) as Record<string, unknown>).find((entry) => entry.msg === 'run ended');
    expect(ended).toMatchObject({ stopReason: 'laser', reported: 'outbox', simulated: true, steered: { model: 0, stopped: 0 } });
    const files = await readdir(outbox);
    expect(files.filter((f) => f.endsWith('.jpg'))).toHaveLength(ended!.frames as number);
    expect(files.filter((f) => f.endsWith('.json'))).toHaveLength((ended!.frames as number) + 1);
    const health = JSON.parse(await readFile(healthFile, 'utf8')) as HealthSnapshot;
    expect(health).toMatchObject({ state: 'finished', clientId: 'rover-1', runsDone: 1, api: { reachable: false } });
    expect(health.outbox).toMatchObject({ frames: ended!.frames, runs: 1, dropped: 0 });
  });
});
