import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { driveParkingRuns } from '../../edge/cli.js';
import { DRIFT_RULE, DRIFT_RULE_SUMMARY, isOutsideBand } from '../../core/features/driftRule.js';
import { closeStores, openStores, type Stores } from '../../core/stores/index.js';
import { trainingCapacity } from '../../core/ml/trainingCapacity.js';
import { createWorkers } from '../../workers/createWorkers.js';
import type { TrainAndRegisterResult } from '../../workflows/trainAndRegister/contract.js';
import { ADMIN_TOKEN, startApiOn, WEBHOOK_TOKEN, type ApiHarness } from '../support/apiHarness.js';
import { productionUrls } from '../support/productionServices.js';
import { startTemporal } from '../support/temporalEnv.js';

const urls = productionUrls();

/** One drift-triggered retrain, end to end, with every store on its production server. */
describe.runIf(urls)('closed loop on MySQL, InfluxDB and S3', () => {
  let env: TestWorkflowEnvironment;
  let stores: Stores;
  let workers: Worker[];
  let running: Promise<unknown>;
  let api: ApiHarness;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'closed-loop-prod-'));

  const call = async (method: string, route: string, body?: unknown, token = ADMIN_TOKEN) => {
    const res = await fetch(api.url + route, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: res.status === 204 ? undefined : await res.json() };
  };

  const waitForRun = async (workflowId: string, runId: string) => {
    const result: TrainAndRegisterResult = await env.client.workflow.getHandle(workflowId, runId).result();
    return result.registration.registered ? result.registration.version : undefined;
  };

  /** Drives parking runs and waits until InfluxDB has every frame the API accepted. */
  const drive = async (deployment: string, clientId: string, token: string, preset: string, seed: number) => {
    const before = (await stores.measurements.deploymentStats(deployment)).count;
    const summary = await driveParkingRuns({ apiUrl: api.url, clientId, token, preset, runs: 4, seed, concurrency: 2, log: () => {} });
    const accepted = summary.answered + (summary.errors.no_model ?? 0);
    expect(accepted).toBeGreaterThan(40);
    await expect
      .poll(async () => (await stores.measurements.deploymentStats(deployment)).count, { timeout: 30_000, interval: 250 })
      .toBe(before + accepted);
    return accepted;
  };

  beforeAll(async () => {
    [env, stores] = await Promise.all([startTemporal(), openStores(urls!)]);
    workers = await createWorkers({
      connection: env.nativeConnection,
      namespace: 'default',
      context: { stores, objectsUrl: urls!.objectsUrl, mlBackend: 'auto' },
      capacity: trainingCapacity({ sweepParallelism: 2 }),
    });
    running = Promise.all(workers.map((w) => w.run()));
    api = await startApiOn(stores, dir, async () => env.client);
  });

  afterAll(async () => {
    await api?.close();
    workers?.forEach((w) => w.shutdown());
    await running?.catch(() => {});
    await env?.teardown();
    if (stores) await closeStores(stores);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a saturation alert from green frames retrains on the production stores and the new version serves', async () => {
    const model = `distance-${randomUUID().slice(0, 8)}`;
    const [beige, green, clientId] = [`${model}-beige`, `${model}-green`, `rover-${model}`];
    for (const id of [beige, green])
      expect((await call('POST', '/deployments', { id, modelName: model, modelVersion: 'latest' })).status).toBe(201);
    const { token } = (await call('POST', '/clients', { id: clientId, name: 'rover', deploymentId: beige })).body;
    const config = {
      deployments: [beige],
      width: 24,
      height: 18,
      sweep: { epochs: [3], batchSizes: [16, 32], dropouts: [0.1] },
      registerPolicy: 'always',
    };
    expect((await call('PUT', `/models/${model}/training-config`, config)).status).toBe(200);

    const beigeFrames = await drive(beige, clientId, token, 'beige-250', 1);
    const first = (await call('POST', `/models/${model}/retrain`, { by: 'test' })).body;
    expect(await waitForRun(first.workflowId, first.runId)).toBe(1);

    expect((await call('PUT', `/clients/${clientId}/deployment`, { deploymentId: green })).status).toBe(200);
    const greenFrames = await drive(green, clientId, token, 'green-350', 2);

    // What Grafana's rule evaluates: the windowed mean of the drift signal, read back from InfluxDB.
    const windowMs = DRIFT_RULE.windowMinutes * 60_000;
    const meanOf = async (deployment: string) => {
      const { windows } = (await call('GET', `/deployments/${deployment}/means?field=${DRIFT_RULE.field}&windowMs=${windowMs}`)).body;
      return windows.at(-1).mean as number;
    };
    expect(isOutsideBand(await meanOf(beige))).toBe(false);
    const greenMean = await meanOf(green);
    expect(isOutsideBand(greenMean)).toBe(true);

    const startsAt = new Date().toISOString();
    const alert = {
      receiver: 'mlops-retrain',
      status: 'firing',
      alerts: [
        {
          status: 'firing',
          labels: { alertname: DRIFT_RULE.alertName, deployment: green },
          annotations: { summary: DRIFT_RULE_SUMMARY, value: String(greenMean) },
          startsAt,
          fingerprint: randomUUID().slice(0, 16),
        },
      ],
      groupKey: `{}:{alertname="${DRIFT_RULE.alertName}"}`,
      version: '1',
    };
    const fired = await call('POST', '/webhooks/grafana', alert, WEBHOOK_TOKEN);
    expect(fired.status).toBe(200);
    const started = fired.body.results[0];
    expect(started).toMatchObject({ outcome: 'started', workflowId: first.workflowId });
    expect((await call('POST', '/webhooks/grafana', alert, WEBHOOK_TOKEN)).body.results[0].outcome).toBe('duplicate');
    expect(await waitForRun(started.workflowId, started.runId)).toBe(2);

    // Lineage across the three servers: the registry (MySQL) names the dataset, which holds every labelled
    // record InfluxDB has for both deployments, and the model artefact is in the bucket.
    const v2 = await stores.registry.getModelVersion(model, 2);
    expect(v2?.sourceDeployments.sort()).toEqual([beige, green].sort());
    const rows = await stores.measurements.datasetRows([beige, green]);
    expect(v2?.recordCount).toBe(rows.length);
    expect(rows.length).toBeLessThanOrEqual(beigeFrames + greenFrames);
    expect(await stores.objects.list(v2!.artifactKey)).not.toHaveLength(0);
    expect((await stores.registry.listRetrainRequests({ modelName: model })).map((r) => r.outcome)).toEqual([
      'started',
      'started',
      'duplicate',
    ]);

    // The deployment follows `latest`: the next frame is answered by v2 and recorded with it.
    await drive(green, clientId, token, 'green-350', 3);
    expect((await stores.measurements.deploymentStats(green)).modelVersion).toBe(2);
  });
});
