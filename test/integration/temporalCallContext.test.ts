import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startDevServer, type DevServer } from '../support/temporalEnv.js';

/**
 * The Temporal client keeps a call's deadline in an AsyncLocalStorage: on Node 20 one that ran once keeps a hook on
 * every promise of the process. The API's client turns it off between calls, and its deadlines still hold.
 */
describe("the API's Temporal client between calls", () => {
  let dir: string;
  let server: DevServer;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'call-context-'));
    server = await startDevServer(await freePort(), path.join(dir, 'temporal.db'));
  });
  afterAll(async () => {
    await server?.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('leaves no promise hook on after a call with a deadline, and the next call still has its deadline', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'test/support/callContextProbe.ts', server.address],
      {
        timeout: 60_000,
      },
    );
    // 4: gRPC's DEADLINE_EXCEEDED.
    expect(JSON.parse(stdout.trim().split('\n').at(-1)!)).toEqual({ during: true, after: false, late: 4 });
  });
});
