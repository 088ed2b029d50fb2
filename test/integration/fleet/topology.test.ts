import { Connection, Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeStores, openStores, type Stores } from '../../../core/stores/index.js';
import { WORKFLOW_TYPES } from '../../../workflows/shared.js';
import { createServedAndFreshDeployments } from '../../support/apiHarness.js';
import { eventually } from '../../support/eventually.js';
import { Scrape } from '../../support/prometheus.js';
import { syntheticFrame } from '../../support/syntheticFrames.js';
import { startTopology, topologyAvailable, type AppProcess, type Topology } from '../../support/topology.js';

const rover = { id: 'rover-topology', token: 'token-topology-0123456789', deployment: 'served' as const };

/**
 * The replicated topology itself: two APIs behind HAProxy, two workers, Temporal's real server, the production stores.
 * Frames through the load balancer reach both replicas; a replica that stops answering /readyz gets none once HAProxy
 * has marked it down, and gets its share again once it is back; the workers run a workflow on the real server.
 */
describe.runIf(topologyAvailable())('the replicated topology', () => {
  let topology: Topology;
  let stores: Stores;
  let jpeg: Buffer;
  let sensor = 0;

  beforeAll(async () => {
    const started = Date.now();
    topology = await startTopology({ name: 'smoke' });
    console.log(`[topology] 2 workers, 2 APIs and HAProxy ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    stores = await openStores({
      registryUrl: topology.env.REGISTRY_URL,
      measurementsUrl: topology.env.MEASUREMENTS_URL,
      objectsUrl: topology.env.OBJECTS_URL,
    });
    await createServedAndFreshDeployments(stores, [rover], 'run-topology');
    jpeg = await syntheticFrame(120, 160, 120);
  });

  afterAll(async () => {
    if (stores) await closeStores(stores);
    await topology?.close();
  });

  async function sendFrame(): Promise<{ status: number; body: Record<string, unknown> }> {
    const form = new FormData();
    form.set('sensor_value', String(++sensor));
    form.set('image', new Blob([new Uint8Array(jpeg)], { type: 'image/jpeg' }), 'frame.jpg');
    const res = await fetch(`${topology.url}/predict`, { method: 'POST', body: form, headers: { authorization: `Bearer ${rover.token}` } });
    // HAProxy answers in HTML (a 503 when no replica took the request).
    const text = await res.text();
    return {
      status: res.status,
      body: res.headers.get('content-type')?.includes('json') ? (JSON.parse(text) as Record<string, unknown>) : { text },
    };
  }

  /** Sends `count` frames through the load balancer, one at a time; each must be answered 200. */
  async function sendFrames(count: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      const answer = await sendFrame();
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    }
  }

  /** Frames the replica received in full since it started (its /metrics). */
  async function framesReceived(api: AppProcess): Promise<number> {
    return (await Scrape.of(`${api.url}/metrics`)).value('api_frames_received_total');
  }

  const counts = () => Promise.all(topology.apis.map(framesReceived));

  async function balancerSays(api: AppProcess, state: 'UP' | 'DOWN'): Promise<void> {
    await eventually(async () => expect((await topology.balancer.serverStates())[api.name]).toBe(state), { timeoutMs: 60_000 });
  }

  it('spreads frames over both replicas', async () => {
    // The registry lookups of a replica are cached for REGISTRY_CACHE_TTL_MS: the rover is known once that has passed.
    await eventually(async () => expect((await sendFrame()).status).toBe(200), { timeoutMs: 30_000 });
    const before = await counts();
    await sendFrames(20);
    const after = await counts();
    const gained = after.map((count, i) => count - before[i]);
    console.log(`[topology] 20 frames through HAProxy: ${gained.join(' + ')} by replica`);
    expect(gained.reduce((a, b) => a + b)).toBe(20);
    for (const share of gained) expect(share).toBeGreaterThan(0);
  });

  it('sends nothing to a replica that stops answering, and its share again once it is back', async () => {
    const [paused, other] = topology.apis;
    process.kill(paused.pid()!, 'SIGSTOP');
    try {
      await balancerSays(paused, 'DOWN');
      const before = await framesReceived(other);
      await sendFrames(10);
      expect(await framesReceived(other)).toBe(before + 10);
    } finally {
      process.kill(paused.pid()!, 'SIGCONT');
    }
    const pausedBefore = await framesReceived(paused);
    await balancerSays(paused, 'UP');
    const otherBefore = await framesReceived(other);
    await sendFrames(10);
    const gained = [(await framesReceived(paused)) - pausedBefore, (await framesReceived(other)) - otherBefore];
    console.log(`[topology] 10 frames once the paused replica is back: ${gained.join(' + ')}`);
    expect(gained[0]).toBeGreaterThan(0);
  });

  it('moves the frames of a killed replica to the other, and spreads them again once it restarts', async () => {
    const [killed, other] = topology.apis;
    await killed.kill();
    // Until HAProxy notices, a connection to the dead replica is refused: HAProxy sends the request to the other.
    const before = await framesReceived(other);
    await sendFrames(10);
    await balancerSays(killed, 'DOWN');
    await sendFrames(10);
    expect(await framesReceived(other)).toBe(before + 20);

    const restarted = Date.now();
    await killed.start();
    console.log(`[topology] the killed replica ready again in ${((Date.now() - restarted) / 1000).toFixed(1)} s`);
    await balancerSays(killed, 'UP');
    const [killedBefore, otherBefore] = await counts();
    await sendFrames(10);
    const [killedAfter, otherAfter] = await counts();
    console.log(`[topology] 10 frames after the restart: ${killedAfter - killedBefore} + ${otherAfter - otherBefore}`);
    expect(killedAfter - killedBefore).toBeGreaterThan(0);
  });

  it('runs a workflow on the real Temporal server with its own workers', async () => {
    const admin = (method: string, route: string, body?: unknown) =>
      fetch(`${topology.url}${route}`, {
        method,
        headers: { authorization: `Bearer ${topology.adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    // A model has a drift monitor once a drift could be retrained: it needs a training config.
    const configured = await admin('PUT', '/models/distance/training-config', { deployments: ['served'] });
    expect(configured.status, await configured.text()).toBe(200);
    const res = await admin('POST', '/models/distance/monitor/check');
    expect(res.status, await res.clone().text()).toBe(202);
    const connection = await Connection.connect({ address: topology.env.TEMPORAL_ADDRESS });
    try {
      const client = new Client({ connection, namespace: topology.env.TEMPORAL_NAMESPACE });
      await eventually(
        async () => {
          let completed = 0;
          for await (const run of client.workflow.list({
            query: `WorkflowType = "${WORKFLOW_TYPES.checkDrift}" AND ExecutionStatus = "Completed" AND ModelName = "distance"`,
          })) {
            if (run.status.name === 'COMPLETED') completed++;
          }
          expect(completed).toBeGreaterThan(0);
        },
        { timeoutMs: 120_000, intervalMs: 1000 },
      );
    } finally {
      await connection.close();
    }
  });
});
