import { ScheduleNotFoundError } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { retryPendingRetrains } from '../../../control/retrainRequests.js';
import { driftDedupeKey } from '../../../core/drift/driftReport.js';
import { referenceProfileOf } from '../../../core/drift/referenceProfile.js';
import { createRng } from '../../../core/random.js';
import { closeStores, type Stores } from '../../../core/stores/index.js';
import { monitorScheduleIdFor } from '../../../workflows/checkDrift/contract.js';
import { trainWorkflowIdFor, type RetrainAsk, type TrainAndRegisterRequest } from '../../../workflows/trainAndRegister/contract.js';
import { attachReferenceProfile, registerUntrainedVersion } from '../../support/apiHarness.js';
import { characteristicsAround, recordsAround } from '../../support/driftRecords.js';
import { storeFrames } from '../../support/storeFrames.js';
import { eventually } from '../../support/eventually.js';
import { adminOn, openTopologyStores, topologyTemporal } from '../../support/fleetClient.js';
import { startTopology, type Topology } from '../../support/topology.js';

/** Models with something to monitor (a training config and a deployment), and one without a training config. */
const MONITORED = ['drift', 'spare'];
const UNMONITORED = 'idle';
/** The model the drift monitor watches: one deployment like its reference, one drifted away from it. */
const WATCHED = 'watch';
const rng = createRng(25);
const characteristics = (centre: number) => characteristicsAround(rng, centre);
/** Frames around `centre`; away from the reference (50) the model errs 4 times as much: the world moved and hurt it. */
const frames = (deployment: string, count: number, centre: number) =>
  recordsAround(rng, { deployment, modelName: WATCHED, count, centre, errorSd: centre === 50 ? 5 : 20 });
/** How often each replica makes every schedule match the registry again (production: every 10 minutes). */
const RESYNC_SECONDS = 10;
/** Asks recorded while nothing could take them, for the replicas to hand over. */
const PENDING_ASKS = 30;

/**
 * However many API replicas start, restart, sync schedules or take a drift's asks at once: one drift-monitor schedule
 * per model, one TrainAndRegister run per drift (every ask coalesced into it), and each pending ask handed to Temporal
 * once. The workers are stopped for the asks, so the run they start waits, open, for the test to count what reached it.
 */
describe('drift schedules and retrains across API replicas', () => {
  let topology: Topology;
  let stores: Stores;
  let temporal: Awaited<ReturnType<typeof topologyTemporal>>;
  let urls: string[];

  const admin = (url: string, method: string, route: string, body?: unknown) => adminOn(url, topology.adminToken, method, route, body);
  /** The namespace's schedules, as Temporal lists them (its list is eventually consistent: read until it settles). */
  const scheduleIds = async () => {
    const ids: string[] = [];
    for await (const schedule of temporal.client.schedule.list()) ids.push(schedule.scheduleId);
    return ids.sort();
  };
  const expectedSchedules = MONITORED.map(monitorScheduleIdFor).sort();
  /** Every run of a model's TrainAndRegister workflow id, and the asks its history received by signal. */
  const runsOf = async (modelName: string) => {
    const runs: string[] = [];
    for await (const run of temporal.client.workflow.list({ query: `WorkflowId = "${trainWorkflowIdFor(modelName)}"` }))
      runs.push(run.runId);
    return runs;
  };
  const signalledRequestIds = async (modelName: string) => {
    const history = await temporal.client.workflow.getHandle(trainWorkflowIdFor(modelName)).fetchHistory();
    return (history.events ?? []).flatMap((event) => {
      const payload = event.workflowExecutionSignaledEventAttributes?.input?.payloads?.[0];
      if (!payload) return [];
      const asks = defaultPayloadConverter.fromPayload(payload) as RetrainAsk | RetrainAsk[];
      return (Array.isArray(asks) ? asks : [asks]).map((ask) => ask.trigger.requestId!);
    });
  };

  beforeAll(async () => {
    topology = await startTopology({ name: 'drift-replicas', apis: 3, env: { MONITOR_RESYNC_SECONDS: String(RESYNC_SECONDS) } });
    urls = topology.apis.map((api) => api.url!);
    stores = await openTopologyStores(topology.env);
    temporal = await topologyTemporal(topology.env);
    for (const [deployment, model] of [
      ['north', 'drift'],
      ['south', 'spare'],
      ['east', UNMONITORED],
    ])
      expect((await admin(urls[0], 'POST', '/deployments', { id: deployment, modelName: model })).status).toBe(201);
    for (const [model, deployment] of [
      ['drift', 'north'],
      ['spare', 'south'],
    ])
      expect((await admin(urls[1], 'PUT', `/models/${model}/training-config`, { deployments: [deployment] })).status).toBe(200);
  });

  afterAll(async () => {
    for (const model of [...MONITORED, WATCHED])
      await temporal?.client.workflow
        .getHandle(trainWorkflowIdFor(model))
        .terminate('test over')
        .catch(() => undefined);
    await temporal?.close();
    if (stores) await closeStores(stores);
    await topology?.close();
  });

  it('one schedule per monitored model when every replica starts at once, and when one restarts', async () => {
    await Promise.all(topology.apis.map((api) => api.stop()));
    // A namespace without schedules: every replica's start-up sync races the others to create them.
    for (const id of await scheduleIds())
      await temporal.client.schedule
        .getHandle(id)
        .delete()
        .catch((err) => {
          if (!(err instanceof ScheduleNotFoundError)) throw err;
        });
    await eventually(async () => expect(await scheduleIds()).toEqual([]));
    await Promise.all(topology.apis.map((api) => api.start()));
    await eventually(async () => expect(await scheduleIds()).toEqual(expectedSchedules), { timeoutMs: 60_000 });

    // Monitors changed through the first and last replicas, then the second restarts: its start-up sync keeps the registry's settings.
    expect((await admin(urls[0], 'PUT', '/models/drift/monitor', { intervalSeconds: 120 })).status).toBe(200);
    expect((await admin(urls[urls.length - 1], 'PUT', '/models/spare/monitor', { enabled: false })).status).toBe(200);
    const restarted = topology.apis[1];
    await restarted.stop();
    const restartedAt = new Date();
    await restarted.start();
    const describe = (model: string) => temporal.client.schedule.getHandle(monitorScheduleIdFor(model)).describe();
    // An update after the restart is the restarted replica's start-up sync (or another replica's periodic one).
    await eventually(
      async () => {
        for (const model of MONITORED) expect((await describe(model)).info.lastUpdatedAt!.getTime()).toBeGreaterThan(restartedAt.getTime());
      },
      { timeoutMs: 60_000 },
    );
    expect((await describe('drift')).spec.intervals?.[0]?.every).toBe(120_000);
    expect((await describe('spare')).state.paused).toBe(true);
    expect(await scheduleIds()).toEqual(expectedSchedules);
    for (const api of topology.apis) expect(api.log()).not.toMatch(/drift monitor schedules? not (set up|updated) yet/);
    console.log(
      `drift-monitor schedules after ${topology.apis.length} replicas started at once and one restarted: ${(await scheduleIds()).join(', ')}`,
    );
  });

  it("one run per drift when the monitor's checks are asked through every replica at once", async () => {
    for (const id of ['steady', 'shifted'])
      expect((await admin(urls[0], 'POST', '/deployments', { id, modelName: WATCHED })).status).toBe(201);
    const version = await registerUntrainedVersion(stores, WATCHED, 'watch-v1');
    await attachReferenceProfile(
      stores,
      referenceProfileOf({
        modelName: WATCHED,
        version: version.version,
        source: { manifestKey: 'runs/test/dataset/manifest.json', workflowId: 'test', runId: 'watch-v1' },
        rows: Array.from({ length: 2000 }, () => ({ sensorValue: rng.uniform(0, 250), characteristics: characteristics(50) })),
        labelMaxMm: 350,
        testErrorsMm: Array.from({ length: 400 }, () => Math.abs(rng.gaussian(0, 5))),
      }),
    );
    await storeFrames(stores, [...frames('steady', 400, 50), ...frames('shifted', 400, 90)]);
    const configured = await admin(urls[1], 'PUT', `/models/${WATCHED}/training-config`, {
      deployments: ['steady'],
      width: 20,
      height: 15,
    });
    expect(configured.status).toBe(200);

    const since = Date.now();
    const asked = await Promise.all(urls.map((url) => admin(url, 'POST', `/models/${WATCHED}/monitor/check`)));
    for (const answer of asked) expect(answer.status, JSON.stringify(answer.body)).toBe(202);
    // Triggers of one schedule in the same second start one workflow (its id carries the second), so the replicas'
    // checks may be one run or several: however many found the drift, one asked and the others are its duplicates.
    const checks = await eventually(
      async () => {
        const found = await stores.measurements.driftChecks('shifted', { since });
        expect(found.filter((c) => c.verdict === 'drift').length).toBeGreaterThanOrEqual(1);
        return found;
      },
      { timeoutMs: 90_000 },
    );
    const requests = await eventually(async () => {
      const listed = await stores.registry.listRetrainRequests({ modelName: WATCHED, limit: 100 });
      expect(listed.filter((r) => r.outcome === 'pending')).toEqual([]);
      expect(listed.length).toBeGreaterThanOrEqual(1);
      return listed;
    });
    const acting = requests.filter((r) => r.outcome !== 'duplicate');
    expect(acting).toHaveLength(1);
    expect(acting[0]).toMatchObject({ trigger: 'drift-monitor', dedupeKey: driftDedupeKey('shifted', version.version) });
    expect(requests.filter((r) => r.outcome === 'duplicate').every((r) => r.duplicateOf === acting[0].id)).toBe(true);
    const runs = await eventually(async () => {
      const listed = await runsOf(WATCHED);
      expect(listed).toHaveLength(1);
      return listed;
    });
    console.log(
      `drift monitor checks asked through ${urls.length} replicas at once: ${checks.length} checks, ${requests.length} asks for the drift, ${runs.length} TrainAndRegister run`,
    );
  });

  it("changes of a monitor through every replica at once leave its schedule as the registry's last word", async () => {
    const rounds = 12;
    const mismatches: string[] = [];
    for (let round = 0; round < rounds; round++) {
      const answers = await Promise.all(
        urls.map((url, i) => admin(url, 'PUT', '/models/drift/monitor', { intervalSeconds: 60 + 10 * (round * urls.length + i) })),
      );
      for (const answer of answers) expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      const registered = (await stores.registry.getModel('drift'))!.monitorConfig!.intervalSeconds;
      const scheduled = (await temporal.client.schedule.getHandle(monitorScheduleIdFor('drift')).describe()).spec.intervals?.[0]?.every;
      if (scheduled !== registered * 1000)
        mismatches.push(`round ${round}: registry ${registered} s, schedule ${Number(scheduled) / 1000} s`);
    }
    console.log(`${rounds} rounds of ${urls.length} monitor changes at once: ${mismatches.length} left the schedule unlike the registry`);
    expect(mismatches).toEqual([]);
  });

  it('a monitor change whose replica died before syncing it reaches the schedule through the replicas still up', async () => {
    // As a replica records it while Temporal is unreachable and is then stopped for good: in the registry, not synced.
    await stores.registry.setMonitorConfig('spare', {
      ...(await stores.registry.getModel('spare'))!.monitorConfig!,
      enabled: true,
      intervalSeconds: 240,
    });
    const recordedAt = Date.now();
    await eventually(
      async () => {
        const schedule = await temporal.client.schedule.getHandle(monitorScheduleIdFor('spare')).describe();
        expect(schedule.state.paused).toBe(false);
        expect(schedule.spec.intervals?.[0]?.every).toBe(240_000);
      },
      { timeoutMs: 60_000 },
    );
    console.log(
      `a monitor change left unsynced reached its schedule after ${Date.now() - recordedAt} ms (resync every ${RESYNC_SECONDS} s)`,
    );
  });

  it('one run per drift when its asks reach every replica at once: the alert, its repeats and manual asks', async () => {
    await Promise.all(topology.workers.map((worker) => worker.stop()));
    const alert = {
      status: 'firing',
      labels: { alertname: 'LaserErrorHigh', deployment: 'north' },
      startsAt: new Date().toISOString(),
      fingerprint: 'north-laser-error',
    };
    const hook = (url: string) =>
      fetch(`${url}/webhooks/grafana`, {
        method: 'POST',
        headers: { authorization: `Bearer ${topology.env.WEBHOOK_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ status: 'firing', alerts: [alert] }),
      }).then(async (res) => ({ status: res.status, answer: (await res.json()).results?.[0] }));
    const manual = (url: string) =>
      admin(url, 'POST', '/models/drift/retrain', { by: 'fleet test' }).then(({ status, body }) => ({ status, answer: body }));
    const answers = await Promise.all(urls.flatMap((url) => [hook(url), manual(url)]));
    for (const { status, answer } of answers) expect([200, 202], JSON.stringify(answer)).toContain(status);
    const outcomes = answers.map(({ answer }) => answer.outcome as string);
    expect(outcomes.filter((o) => o === 'started')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'duplicate')).toHaveLength(urls.length - 1);
    expect(outcomes.filter((o) => o === 'joined')).toHaveLength(urls.length);
    // The alert's repeats point at the ask that acted on it; every other ask went to the one run.
    const acting = answers.filter(({ answer }) => answer.outcome !== 'duplicate').map(({ answer }) => answer);
    expect(new Set(acting.map((answer) => answer.runId)).size).toBe(1);
    const alertAsk = answers.find(({ answer }) => answer.outcome !== 'duplicate' && answer.alert !== undefined)!.answer;
    for (const { answer } of answers.filter(({ answer }) => answer.outcome === 'duplicate'))
      expect(answer.duplicateOf).toBe(alertAsk.requestId);
    const runs = await eventually(async () => {
      const listed = await runsOf('drift');
      expect(listed).toHaveLength(1);
      return listed;
    });
    console.log(
      `retrains per drift with ${urls.length} replicas: ${runs.length} TrainAndRegister run for ${answers.length} asks (${outcomes.join(', ')})`,
    );
  });

  it('pending asks are handed over once, however many replicas try', async () => {
    const request: TrainAndRegisterRequest = { modelName: 'spare', deployments: ['south'], trigger: { kind: 'manual', by: 'fleet test' } };
    const recorded = await stores.registry.recordRetrainRequests(
      Array.from({ length: PENDING_ASKS }, (_, i) => ({
        modelName: 'spare',
        trigger: 'manual',
        payload: { ask: { by: `ask ${i}` }, request, observedAt: Date.now() },
        dedupeKey: null,
      })),
    );
    const ids = recorded.map((r) => r.request.id).sort((x, y) => x - y);
    const started = Date.now();
    // Beside the replicas' own retries (every 2 s each), three hand-overs at the same moment, as three more replicas would.
    const deps = { registry: stores.registry, temporal: async () => temporal.client, temporalUi: { url: '', namespace: '' } };
    const byTest = await Promise.all([1, 2, 3].map(() => retryPendingRetrains(deps)));
    const settled = await eventually(
      async () => {
        const requests = await stores.registry.listRetrainRequests({ modelName: 'spare' });
        expect(requests.filter((r) => r.outcome === 'pending')).toEqual([]);
        return requests;
      },
      { timeoutMs: 60_000 },
    );
    expect(settled.map((r) => r.id).sort((x, y) => x - y)).toEqual(ids);
    expect(new Set(settled.map((r) => r.runId)).size).toBe(1);
    expect(settled.filter((r) => r.outcome === 'started').length).toBeLessThanOrEqual(1);
    expect(await runsOf('spare')).toHaveLength(1);
    const signalled = await signalledRequestIds('spare');
    expect(signalled.sort((x, y) => x - y)).toEqual(ids);
    console.log(
      `${PENDING_ASKS} pending asks handed over by ${urls.length} replicas and 3 simultaneous hand-overs (which settled ${byTest.join(', ')}) in ${Date.now() - started} ms: ${signalled.length} signalled (each once), 1 run`,
    );
  });
});
