import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Connection } from '@temporalio/client';
import { afterEach, describe, expect, it } from 'vitest';
import { serversMissing } from '../support/productionServices.js';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');
const SCRIPT = path.join(ROOT, 'scripts/services/temporal.sh');
// Offsets from the frontend's port of every port the two processes listen on (temporal.sh).
const PORT_OFFSETS = [-300, -299, -298, -294, 0, 1, 2, 3, 4, 5, 6];

function temporalServerAvailable(): boolean {
  if (process.env.TEMPORAL_SERVER_ADDRESS) return true;
  serversMissing('the Temporal server start suite', "Temporal's real server is not set up (TEMPORAL_SERVER_ADDRESS unset)");
  return false;
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A frontend port whose whole set of ports is free, away from the shared server's 16933-17240. */
async function freePortBase(): Promise<number> {
  for (;;) {
    const base = 20_300 + 10 * Math.floor(Math.random() * 900);
    const free = await Promise.all(PORT_OFFSETS.map((offset) => portFree(base + offset)));
    if (free.every(Boolean)) return base;
  }
}

/**
 * A second Temporal server beside the shared one (its own ports, databases and folder), started by
 * scripts/services/temporal.sh as `up.sh` starts the shared one.
 */
async function secondServer() {
  const port = await freePortBase();
  const name = `t_start_${randomBytes(4).toString('hex')}`;
  const env = {
    ...process.env,
    SERVICES_DIR: await fs.mkdtemp(path.join(os.tmpdir(), 'temporal-start-')),
    TEMPORAL_PORT: String(port),
    TEMPORAL_DATABASE: name,
    TEMPORAL_VISIBILITY_DATABASE: `${name}_visibility`,
    TEMPORAL_NAMESPACE: 'start-test',
    START_TIMEOUT_SECONDS: '150',
  };
  const script = (command: string) => run('bash', [SCRIPT, command], { cwd: ROOT, env, timeout: 200_000 });
  return { port, address: `127.0.0.1:${port}`, env, script };
}

describe.runIf(temporalServerAvailable())("Temporal's real server, started by scripts/services/temporal.sh", () => {
  let server: Awaited<ReturnType<typeof secondServer>> | undefined;
  let blocker: net.Server | undefined;

  afterEach(async () => {
    blocker?.close();
    blocker = undefined;
    if (!server) return;
    await server.script('stop');
    await server.script('drop-databases');
    await fs.rm(server.env.SERVICES_DIR, { recursive: true, force: true });
    server = undefined;
  });

  // On a fresh database both processes write the cluster's first metadata record at start and the loser exits: started
  // together, the backend (history, matching) died in a CI run while the frontend served, and every fleet suite failed.
  it('on a fresh database returns with history and matching answering through the frontend, both processes running', async () => {
    server = await secondServer();
    await server.script('start');

    const { stdout } = await server.script('status');
    expect(stdout).toMatch(/backend running/);
    expect(stdout).toMatch(/frontend running/);
    const connection = await Connection.connect({ address: server.address });
    try {
      const service = connection.workflowService;
      // Matching answers: the task queue is described (no poller yet).
      const queue = await service.describeTaskQueue({
        namespace: 'temporal-system',
        taskQueue: { name: 'start-probe' },
        taskQueueType: 1,
      });
      expect(queue.pollers ?? []).toEqual([]);
      // History answers: an unknown workflow is NotFound (5), not Unavailable (14, "Not enough hosts").
      const lookup = await service
        .describeWorkflowExecution({ namespace: 'temporal-system', execution: { workflowId: 'start-probe' } })
        .then(
          () => undefined,
          (error: { code?: number }) => error.code,
        );
      expect(lookup).toBe(5);
    } finally {
      await connection.close();
    }
  }, 300_000);

  it('fails, naming the backend and showing its log, when the backend cannot start while the frontend serves', async () => {
    server = await secondServer();
    // History's gRPC port taken by another program: the backend exits at start, the frontend alone serves.
    blocker = net.createServer().listen(server.port + 1, '127.0.0.1');
    await new Promise((resolve) => blocker!.once('listening', resolve));

    const failure = await server.script('start').then(
      () => undefined,
      (error: { code?: number; stderr?: string }) => error,
    );

    expect(failure, 'start reported the server ready without its backend').toBeDefined();
    expect(failure!.code).not.toBe(0);
    expect(failure!.stderr).toMatch(/server exited while waiting for history and matching/);
    expect(failure!.stderr).toMatch(/backend\.log/);
  }, 300_000);
});
