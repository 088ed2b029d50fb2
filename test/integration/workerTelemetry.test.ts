import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckDrift } from '../../workflows/checkDrift/workflow.js';
import { TASK_QUEUES } from '../../workflows/shared.js';
import { openTempStores, type TempStores } from '../support/embeddedStores.js';
import { spawnWorker } from '../support/workerProcess.js';
import { eventually } from '../support/eventually.js';
import { Scrape } from '../support/prometheus.js';
import { freePort, startDevServer, type DevServer } from '../support/temporalEnv.js';

interface LogLine {
  level: number;
  msg: string;
  sdkComponent?: string;
  activityType?: string;
  workflowType?: string;
}

/** workers/main.ts as its own process: JSON lines at LOG_LEVEL (the SDK's, workflows' and activities' included), Temporal's metrics on Prometheus. */
describe('a worker process', () => {
  let server: DevServer;
  let t: TempStores;
  let worker: ChildProcess;
  let connection: Connection;
  let metricsUrl: string;
  let stdout = '';
  let stderr = '';

  beforeAll(async () => {
    t = await openTempStores();
    server = await startDevServer(await freePort(), path.join(t.dir, 'temporal.db'));
    const metricsAddress = `127.0.0.1:${await freePort()}`;
    metricsUrl = `http://${metricsAddress}/metrics`;
    worker = spawnWorker(
      { TEMPORAL_ADDRESS: server.address, DATA_DIR: t.dir, LOG_LEVEL: 'debug', WORKER_METRICS_ADDRESS: metricsAddress },
      'pipe',
    );
    worker.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    worker.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    connection = await Connection.connect({ address: server.address });
  });

  afterAll(async () => {
    if (worker?.exitCode === null && worker.signalCode === null) worker.kill('SIGKILL');
    await connection?.close();
    await server?.kill();
    await t?.cleanup();
  });

  const lines = () =>
    stdout
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as LogLine);

  it('serves temporal_ metrics, activity durations by type among them, and logs JSON at LOG_LEVEL', async () => {
    const ready = await eventually(
      async () => {
        const scrape = await Scrape.of(metricsUrl);
        expect(scrape.value('temporal_worker_start_total', { task_queue: TASK_QUEUES.orchestration })).toBe(1);
        expect(scrape.value('temporal_worker_start_total', { task_queue: TASK_QUEUES.training })).toBe(1);
        return scrape;
      },
      { timeoutMs: 180_000, intervalMs: 500 },
    );
    expect(ready.value('temporal_num_pollers', { task_queue: TASK_QUEUES.training })).toBeGreaterThan(0);

    const client = new Client({ connection });
    await client.workflow.execute(CheckDrift, {
      taskQueue: TASK_QUEUES.orchestration,
      workflowId: `worker-telemetry-${Date.now()}`,
      args: [{ modelName: 'unmonitored' }],
    });
    // The worker counts the workflow completed once the server took its last task's completion, which can be after
    // execute() returned: both counters are awaited.
    const after = await eventually(async () => {
      const scrape = await Scrape.of(metricsUrl);
      expect(scrape.value('temporal_activity_execution_latency_seconds_count', { activity_type: 'monitoredDeployments' })).toBe(1);
      expect(scrape.value('temporal_workflow_completed_total', { workflow_type: 'CheckDrift' })).toBe(1);
      return scrape;
    });
    expect(after.types.get('temporal_activity_execution_latency_seconds')).toBe('histogram');

    // Every line on stdout parses as JSON (lines() throws otherwise); debug lines come from the SDK, a workflow and an activity.
    await eventually(() => {
      const logged = lines();
      expect(logged.find((l) => l.msg.startsWith('workers polling'))).toMatchObject({ level: 30 });
      expect(logged.some((l) => l.level === 20 && l.sdkComponent === 'worker')).toBe(true);
      expect(logged.some((l) => l.level === 20 && l.activityType === 'monitoredDeployments')).toBe(true);
      expect(logged.some((l) => l.level === 20 && l.workflowType === 'CheckDrift')).toBe(true);
      expect(logged.filter((l) => l.level < 20)).toEqual([]);
    });
    expect(stderr).toBe('');
    console.log(`worker: ${lines().length} JSON log lines, ${after.types.size} temporal metric families`);
  });
});
