import { type Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeStores, type Stores } from '../../../core/stores/index.js';
import { monitorScheduleIdFor } from '../../../workflows/checkDrift/contract.js';
import { trainWorkflowIdFor, type TrainAndRegisterResult } from '../../../workflows/trainAndRegister/contract.js';
import { registerUntrainedVersion } from '../../support/apiHarness.js';
import { eventually } from '../../support/eventually.js';
import { openTopologyStores, topologyTemporal } from '../../support/fleetClient.js';
import { acknowledgedVsStored, createRovers, FleetDrive, laserReadingOf } from '../../support/fleetRovers.js';
import { storeLabelledFrames, syntheticFrame } from '../../support/syntheticFrames.js';
import { startTopology, topologyAvailable, type Topology } from '../../support/topology.js';

/** How long the frontend stays down: long enough for every route and poller to notice. */
const OUTAGE_MS = 12_000;

/**
 * Temporal's frontend goes down and comes back (a rolling upgrade of the frontend, a crash) while rovers drive
 * through the load balancer and an operator uses the admin API. Frames need no Temporal: every one is answered and
 * stored. The routes that need Temporal answer 503 with Retry-After meanwhile. Once the frontend is back the loop
 * runs again by itself: the asks kept during the outage are handed over, a retrain asked then runs on the workers,
 * and the drift monitor's schedule fires again.
 */
describe.runIf(topologyAvailable())("Temporal's frontend restarted under load", () => {
  let topology: Topology;
  let stores: Stores;
  let temporal: Awaited<ReturnType<typeof topologyTemporal>>;
  let client: Client;

  const admin = async (method: string, route: string, body?: unknown) => {
    const res = await fetch(topology.url + route, {
      method,
      headers: { authorization: `Bearer ${topology.adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    let json: Record<string, any>;
    try {
      json = JSON.parse(text) as Record<string, any>;
    } catch {
      json = { text };
    }
    return { status: res.status, body: json, retryAfter: res.headers.get('retry-after') };
  };

  beforeAll(async () => {
    const started = Date.now();
    topology = await startTopology({ name: 'temporal-restart', env: { REGISTRY_CACHE_TTL_MS: '500' } });
    console.log(`[temporal] topology ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    stores = await openTopologyStores(topology.env);
    temporal = await topologyTemporal(topology.env);
    client = temporal.client;
  });

  afterAll(async () => {
    await temporal?.close();
    if (stores) await closeStores(stores);
    await topology?.close();
  });

  it('answers frames and 503s with Retry-After through the outage, loses nothing, and resumes by itself', async () => {
    // The fleet's rovers on a served model; the retrained model learns from deployment d's labelled frames.
    await stores.registry.createDeployment({ id: 'fleet', modelName: 'served', modelVersion: 'latest', strategy: 'direct' });
    await registerUntrainedVersion(stores, 'served', 'run-temporal-restart');
    const rovers = await createRovers(stores, 'fleet', 4);
    await stores.registry.createDeployment({ id: 'd', modelName: 'distance', modelVersion: 'latest', strategy: 'direct' });
    await storeLabelledFrames(stores, 120);
    const config = {
      deployments: ['d'],
      width: 32,
      height: 24,
      sweep: { epochs: [2], batchSizes: [8], dropouts: [0.1] },
      registerPolicy: 'always',
    };
    expect((await admin('PUT', '/models/distance/training-config', config)).status).toBe(200);
    const monitor = await admin('PUT', '/models/distance/monitor', { intervalSeconds: 10 });
    expect(monitor.status, JSON.stringify(monitor.body)).toBe(200);
    const schedule = client.schedule.getHandle(monitorScheduleIdFor('distance'));
    await eventually(async () => expect((await schedule.describe()).info.recentActions.length).toBeGreaterThan(0), { timeoutMs: 60_000 });

    let frame = 0;
    const drive = new FleetDrive(topology.url, rovers, await syntheticFrame(120, 160, 120), () => laserReadingOf(++frame), 2);
    try {
      await drive.untilAcknowledged(40);
      const framesBefore = drive.acknowledged.length;

      await topology.temporal.stopFrontend();
      const downAt = Date.now();
      const during: { route: string; status: number; code?: string; retryAfter: string | null }[] = [];
      let asked = 0;
      while (Date.now() - downAt < OUTAGE_MS) {
        for (const [method, route, body] of [
          ['POST', '/models/distance/retrain', { by: `during-${++asked}` }],
          ['POST', '/models/distance/monitor/check', undefined],
        ] as const) {
          const answer = await admin(method, route, body);
          during.push({ route: `${method} ${route}`, status: answer.status, code: answer.body.error?.code, retryAfter: answer.retryAfter });
        }
        await new Promise((r) => setTimeout(r, 500));
      }
      const framesDuring = drive.acknowledged.length - framesBefore;
      await topology.temporal.startFrontend();
      const backAt = Date.now();
      const unavailable = during.filter((a) => a.status === 503);
      console.log(
        `[temporal] frontend down ${((backAt - downAt) / 1000).toFixed(1)} s: ${framesDuring} frames acknowledged meanwhile; ` +
          `${unavailable.length} of ${during.length} admin calls answered 503 (${[...new Set(unavailable.map((a) => `${a.code} Retry-After ${a.retryAfter}`))].join(', ')})`,
      );
      // Every call that needed Temporal was refused promptly, with a time to try again.
      expect(during.filter((a) => a.status !== 503 || a.code !== 'temporal_unavailable' || !a.retryAfter)).toEqual([]);
      expect(framesDuring).toBeGreaterThan(0);

      // The loop resumes by itself: the API reaches Temporal again...
      const triggered = await eventually(
        async () => {
          const answer = await admin('POST', '/models/distance/monitor/check');
          expect(answer.status, JSON.stringify(answer.body)).toBe(202);
        },
        { timeoutMs: 120_000, intervalMs: 500 },
      ).then(() => (Date.now() - backAt) / 1000);
      // ...the asks kept during the outage are handed over...
      const handedOver = await eventually(
        async () => {
          const requests = (await admin('GET', '/models/distance/retrain-requests')).body.requests as { outcome: string }[];
          expect(requests.filter((r) => r.outcome === 'pending')).toEqual([]);
          return requests;
        },
        { timeoutMs: 120_000, intervalMs: 500 },
      );
      const handedOverSeconds = (Date.now() - backAt) / 1000;
      // ...a retrain asked now runs on the workers...
      const after = await admin('POST', '/models/distance/retrain', { by: 'after' });
      expect(after.status, JSON.stringify(after.body)).toBe(202);
      const result = (await client.workflow.getHandle(trainWorkflowIdFor('distance'), after.body.runId).result()) as TrainAndRegisterResult;
      const retrainedSeconds = (Date.now() - backAt) / 1000;
      expect(result.registration.registered).toBe(true);
      // ...and the drift monitor's schedule fires again.
      const firedAt = await eventually(
        async () => {
          const actions = (await schedule.describe()).info.recentActions.filter((a) => a.takenAt.getTime() > backAt);
          expect(actions.length).toBeGreaterThan(0);
          return Math.min(...actions.map((a) => a.takenAt.getTime()));
        },
        { timeoutMs: 60_000, intervalMs: 1000 },
      );
      const firedSeconds = (firedAt - backAt) / 1000;
      await drive.untilAcknowledged(20);
      await drive.stop();

      const outcomes: Record<string, number> = {};
      for (const r of handedOver) outcomes[r.outcome] = (outcomes[r.outcome] ?? 0) + 1;
      console.log(
        `[temporal] after the frontend was back: a drift check triggered in ${triggered.toFixed(1)} s, the ${asked} asks kept ` +
          `during the outage handed over within ${handedOverSeconds.toFixed(1)} s (${JSON.stringify(outcomes)}), a retrain asked ` +
          `then (${after.body.outcome}) registered ${result.registration.registered ? `v${result.registration.version}` : 'nothing'} ${retrainedSeconds.toFixed(1)} s after, ` +
          `the schedule fired again ${firedSeconds.toFixed(1)} s after`,
      );

      // Frames need no Temporal: none refused, every acknowledged one stored once.
      const stored = await acknowledgedVsStored(stores, drive.frames);
      console.log(
        `[temporal] frames: ${drive.frames.length} sent, answers ${JSON.stringify(drive.statusCounts())}; acknowledged ` +
          `${stored.acknowledged}, stored ${stored.stored}, stored twice ${stored.duplicated.length}`,
      );
      expect(drive.frames.filter((f) => f.attempts.some((a) => a !== 200)).map((f) => `${f.sensor}: ${f.attempts.join(',')}`)).toEqual([]);
      expect(stored.missing.map((f) => f.sensor)).toEqual([]);
      expect(stored.duplicated.map((f) => f.sensor)).toEqual([]);
    } finally {
      await drive.stop();
    }
  });
});
