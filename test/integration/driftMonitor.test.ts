import type { Worker } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { workflowMetadataQuery } from '@temporalio/workflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { driftDedupeKey } from '../../core/drift/driftReport.js';
import { referenceProfileOf } from '../../core/drift/referenceProfile.js';
import { createRng } from '../../core/random.js';
import { createOrchestrationWorker } from '../../workers/createWorkers.js';
import { monitorScheduleIdFor } from '../../workflows/checkDrift/contract.js';
import { trainWorkflowIdFor, type TrainAndRegisterRequest } from '../../workflows/trainAndRegister/contract.js';
import { adminCall, attachReferenceProfile, registerUntrainedVersion, startApi, type ApiHarness } from '../support/apiHarness.js';
import { characteristicsAround, recordsAround } from '../support/driftRecords.js';
import { eventually } from '../support/eventually.js';
import { startTemporal } from '../support/temporalEnv.js';
import { storeFrames } from '../support/storeFrames.js';

const MODEL = 'distance';
const rng = createRng(9);
const characteristics = (centre: number) => characteristicsAround(rng, centre);
/** Frames around `centre`, with the model's errors (its test error is 5 mm). */
const frames = (deployment: string, count: number, centre: number, errorSd = 5) =>
  recordsAround(rng, { deployment, modelName: MODEL, count, centre, errorSd });

/**
 * The monitor end to end on a real Temporal dev server: the API sets up the model's schedule, the schedule runs
 * CheckDrift on the orchestration worker, a deployment whose frames moved away from the serving version's
 * reference profile, and where the model errs 4 times as much, starts exactly one TrainAndRegister run; a deployment
 * whose frames look like it fires nothing, nor does one whose frames moved as far while the laser says the error holds.
 */
describe('drift monitor', () => {
  let env: TestWorkflowEnvironment;
  let api: ApiHarness;
  let worker: Worker;
  let running: Promise<void>;

  const admin = (method: string, route: string, body?: unknown) => adminCall(api.url, method, route, body);
  const trainRuns = async () => {
    const runs: { runId: string; type: string }[] = [];
    for await (const run of env.client.workflow.list({ query: `WorkflowId = "${trainWorkflowIdFor(MODEL)}"` }))
      runs.push({ runId: run.runId, type: run.type });
    return runs;
  };

  beforeAll(async () => {
    env = await startTemporal();
    api = await startApi(async () => env.client);
    const { stores } = api;
    for (const id of ['steady', 'shifted', 'harmless'])
      expect((await admin('POST', '/deployments', { id, modelName: MODEL })).status).toBe(201);

    const version = await registerUntrainedVersion(stores, MODEL, 'run-1');
    const profile = referenceProfileOf({
      modelName: MODEL,
      version: version.version,
      source: { manifestKey: 'runs/test/dataset/manifest.json', workflowId: 'test', runId: 'run-1' },
      rows: Array.from({ length: 2000 }, () => ({ sensorValue: rng.uniform(0, 250), characteristics: characteristics(50) })),
      labelMaxMm: 350,
      testErrorsMm: Array.from({ length: 400 }, () => Math.abs(rng.gaussian(0, 5))),
    });
    await attachReferenceProfile(stores, profile);
    await storeFrames(stores, [...frames('steady', 400, 50), ...frames('shifted', 400, 90, 20), ...frames('harmless', 400, 90)]);

    worker = await createOrchestrationWorker({
      connection: env.nativeConnection,
      namespace: 'default',
      context: {
        stores,
        objectsUrl: '',
        mlBackend: 'auto',
        temporal: { client: async () => env.client, ui: { url: 'http://localhost:8233', namespace: 'default' } },
      },
    });
    running = worker.run();
  });

  afterAll(async () => {
    worker?.shutdown();
    await running?.catch(() => undefined);
    await api?.close();
    await env?.teardown();
  });

  it('has no schedule for a model without a training config, and refuses a bad monitor config with 400', async () => {
    const monitor = await admin('GET', `/models/${MODEL}/monitor`);
    expect(monitor.status).toBe(200);
    expect(monitor.body).toMatchObject({ defaults: true, config: { enabled: true, intervalSeconds: 60 }, schedule: { state: 'absent' } });
    expect(monitor.body.schedule.reason).toMatch(/training config/);
    const bad = await admin('PUT', `/models/${MODEL}/monitor`, { intervalSeconds: 1, band: [40, 60] });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/intervalSeconds/);
    expect(bad.body.error.message).toMatch(/band/);
    expect((await admin('GET', '/models/nope/monitor')).status).toBe(404);
  });

  it('starts exactly one run for the shifted deployment and fires nothing for the steady one', async () => {
    expect((await admin('PUT', `/models/${MODEL}/training-config`, { deployments: ['steady'], width: 20, height: 15 })).status).toBe(200);
    const configured = await admin('PUT', `/models/${MODEL}/monitor`, { intervalSeconds: 5 });
    expect(configured.status).toBe(200);
    expect(configured.body.schedule).toMatchObject({ scheduleId: monitorScheduleIdFor(MODEL), state: 'active', intervalSeconds: 5 });

    // The schedule checks every 5 s: wait for the drift to be asked for, then for three more checks of each deployment.
    const asked = await eventually(
      async () => {
        const [request] = await api.stores.registry.listRetrainRequests({ modelName: MODEL, outcome: 'started' });
        expect(request).toBeDefined();
        return request;
      },
      { timeoutMs: 90_000 },
    );
    expect(asked).toMatchObject({ trigger: 'drift-monitor', dedupeKey: driftDedupeKey('shifted', 1) });
    const checksSince = Date.now();
    await eventually(
      async () => {
        for (const deployment of ['steady', 'shifted', 'harmless'])
          expect((await api.stores.measurements.driftChecks(deployment, { since: checksSince })).length).toBeGreaterThanOrEqual(3);
      },
      { timeoutMs: 90_000 },
    );

    // The first check may have looked at 'steady' after 'shifted' asked for the retrain: only the three are certain.
    const steady = await admin('GET', '/deployments/steady/drift?limit=100');
    expect(steady.body.checks.length).toBeGreaterThanOrEqual(3);
    expect(new Set(steady.body.checks.map((c: { verdict: string }) => c.verdict))).toEqual(new Set(['no-drift']));
    const [latest] = (await admin('GET', '/deployments/shifted/drift?limit=1')).body.checks;
    expect(latest).toMatchObject({ verdict: 'drift', modelVersion: 1, windowFrames: 400 });
    expect(latest.kinds).toContain('covariate');
    expect(latest.covariate.driftedFeatures).toHaveLength(22);
    // Moved as far, but the laser vouches for the model on all 400 frames: reported, never asked for.
    const harmless = (await admin('GET', '/deployments/harmless/drift?limit=100')).body.checks;
    expect(harmless.length).toBeGreaterThanOrEqual(3);
    for (const c of harmless)
      expect(c, c.summary).toMatchObject({ verdict: 'harmless-drift', kinds: ['covariate'], retrain: { asked: false } });
    expect(harmless[0].summary).toMatch(/error holds on 400 labelled frames: no retrain/);

    // Every later check of the same drift on the same version is a duplicate of the first ask: one run only.
    const requests = await api.stores.registry.listRetrainRequests({ modelName: MODEL, limit: 100 });
    expect(requests.filter((r) => r.outcome !== 'duplicate')).toHaveLength(1);
    expect(requests.filter((r) => r.outcome === 'duplicate').every((r) => r.duplicateOf === asked.id)).toBe(true);
    const runs = await eventually(async () => {
      const listed = await trainRuns();
      expect(listed).toHaveLength(1);
      return listed;
    });
    expect(runs[0]).toMatchObject({ runId: asked.runId, type: 'TrainAndRegister' });

    // In the Web UI, a check says what it found and what it asked for, and the monitor's runs filter out by type.
    const check = await eventually(async () => {
      for await (const run of env.client.workflow.list({ query: `WorkflowType = "CheckDrift" AND ExecutionStatus = "Completed"` })) {
        const handle = env.client.workflow.getHandle(run.workflowId, run.runId);
        const currentDetails = (await handle.query(workflowMetadataQuery)).currentDetails ?? '';
        if (currentDetails.includes('shifted: drift')) return { details: currentDetails, described: await handle.describe() };
      }
      throw new Error('no completed check that found the drift listed yet');
    });
    expect(check.details).toMatch(/steady: no-drift/);
    expect(check.details).toMatch(/harmless: harmless-drift/);
    expect(check.details).toMatch(/shifted: drift \((.*, )?covariate.*\), retrain request \d+ (started|duplicate)/);
    expect(await check.described.staticSummary()).toBe(`drift check of ${MODEL}'s deployments (drift monitor schedule)`);
    const notMonitor: string[] = [];
    for await (const run of env.client.workflow.list({ query: `ModelName = "${MODEL}" AND WorkflowType != "CheckDrift"` }))
      notMonitor.push(run.type);
    expect(notMonitor).toEqual(['TrainAndRegister']);

    // The run's input says who asked and why; the drifted deployment joins the dataset.
    const input = (await env.client.workflow.getHandle(trainWorkflowIdFor(MODEL), asked.runId!).fetchHistory()).events![0]
      .workflowExecutionStartedEventAttributes!.input!.payloads![0];
    const request = JSON.parse(Buffer.from(input.data!).toString('utf8')) as TrainAndRegisterRequest;
    expect(request.trigger).toMatchObject({ kind: 'drift-monitor', drift: { deployment: 'shifted', modelVersion: 1 } });
    expect(request.trigger.drift!.kinds).toContain('covariate');
    expect(request.deployments.sort()).toEqual(['shifted', 'steady']);
    await env.client.workflow.getHandle(trainWorkflowIdFor(MODEL), asked.runId!).terminate('test: no training worker here');
  });

  it('pauses the schedule when turned off and removes it when no deployment is left', async () => {
    const off = await admin('PUT', `/models/${MODEL}/monitor`, { enabled: false });
    expect(off.body.schedule).toMatchObject({ state: 'paused' });
    // A check while the monitor is off would look at nothing: refused, never answered as if it ran.
    expect(await admin('POST', `/models/${MODEL}/monitor/check`)).toMatchObject({
      status: 409,
      body: { error: { code: 'monitor_disabled' } },
    });
    expect((await admin('DELETE', '/deployments/shifted')).status).toBe(204);
    expect((await admin('DELETE', '/deployments/harmless')).status).toBe(204);
    expect((await admin('GET', `/models/${MODEL}/monitor`)).body.schedule.state).toBe('paused');
    expect((await admin('DELETE', '/deployments/steady')).status).toBe(204);
    const gone = await admin('GET', `/models/${MODEL}/monitor`);
    expect(gone.body.schedule).toMatchObject({ state: 'absent' });
    expect((await admin('POST', `/models/${MODEL}/monitor/check`)).status).toBe(409);
  });
});
