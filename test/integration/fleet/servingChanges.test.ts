import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stores } from '../../../core/stores/index.js';
import { closeStores } from '../../../core/stores/index.js';
import { registerUntrainedVersion } from '../../support/apiHarness.js';
import { adminOn, openTopologyStores, sendFrame, type FrameAnswer } from '../../support/fleetClient.js';
import { syntheticFrame } from '../../support/syntheticFrames.js';
import { startTopology, type Topology } from '../../support/topology.js';

/** Past this a change that has not reached a replica never will: the test fails instead of waiting on. */
const GIVE_UP_MS = 60_000;

/**
 * A change of what a rover gets, made through one API replica (or by a worker's registration), is served by every
 * replica: the writing replica at once, the others once their registry lookups expire (REGISTRY_CACHE_TTL_MS, 5 s;
 * 1 s for the model's newest version) and the version is loaded. One rover's frames go to each replica's own URL in
 * turn; the time until each replica answers with the new version is printed for each kind of change.
 */
describe('serving changes across API replicas', () => {
  let topology: Topology;
  let stores: Stores;
  let a: string;
  let b: string;
  let jpeg: Buffer;
  const rover = { id: 'rover-1', token: '' };
  const reached: Record<string, { A: number; B: number }> = {};

  const admin = (url: string, method: string, route: string, body?: unknown) => adminOn(url, topology.adminToken, method, route, body);

  /**
   * Sends the rover's frames to A and B in turn from `change` on, until both answer as `isNew` says; a few more rounds
   * then check that neither goes back. Returns the milliseconds from the end of the change to each replica's first new answer.
   */
  const measure = async (kind: string, change: () => Promise<unknown>, isNew: (answer: FrameAnswer) => boolean) => {
    for (const url of [a, b]) {
      const before = await sendFrame(url, rover.token, jpeg, 120);
      expect(before.status, JSON.stringify(before.body)).toBe(200);
      expect(isNew(before), `${kind}: the replica answered the new way before the change`).toBe(false);
    }
    await change();
    const changedAt = performance.now();
    const first: { A?: number; B?: number } = {};
    const wentBack: string[] = [];
    let roundsAfter = 0;
    while (roundsAfter < 5) {
      for (const [name, url] of [
        ['A', a],
        ['B', b],
      ] as const) {
        const answer = await sendFrame(url, rover.token, jpeg, 120);
        expect(answer.status, JSON.stringify(answer.body)).toBe(200);
        if (isNew(answer)) first[name] ??= performance.now() - changedAt;
        else if (first[name] !== undefined) wentBack.push(`${name}: ${JSON.stringify(answer.body.model)}`);
      }
      if (first.A !== undefined && first.B !== undefined) roundsAfter++;
      if (performance.now() - changedAt > GIVE_UP_MS)
        throw new Error(`${kind}: not served by every replica within ${GIVE_UP_MS / 1000} s (A: ${first.A} ms, B: ${first.B} ms)`);
    }
    expect(wentBack, `${kind}: a replica went back to the old answer`).toEqual([]);
    reached[kind] = { A: Math.round(first.A!), B: Math.round(first.B!) };
    console.log(`${kind} through replica A: replica A serves it after ${reached[kind].A} ms, replica B after ${reached[kind].B} ms`);
  };

  beforeAll(async () => {
    topology = await startTopology({ name: 'serving-changes' });
    [a, b] = topology.apis.map((api) => api.url!);
    stores = await openTopologyStores(topology.env);
    jpeg = await syntheticFrame(120);
    for (const [id, modelName] of [
      ['lane', 'distance'],
      ['yard', 'yard'],
    ])
      expect((await admin(a, 'POST', '/deployments', { id, modelName, modelVersion: 'latest', strategy: 'direct' })).status).toBe(201);
    const created = await admin(a, 'POST', '/clients', { id: rover.id, deploymentId: 'lane' });
    rover.token = created.body.token;
    const yardRover = await admin(a, 'POST', '/clients', { id: 'rover-2', deploymentId: 'yard' });
    await registerUntrainedVersion(stores, 'distance', 'lane-v1', 150);
    await registerUntrainedVersion(stores, 'yard', 'yard-v1', 200);
    // Every replica has loaded the versions it will be moved to: what is measured is how a change travels, not a load.
    for (const url of [a, b]) {
      expect((await sendFrame(url, rover.token, jpeg, 120)).version).toBe(1);
      expect((await sendFrame(url, yardRover.body.token, jpeg, 120)).modelName).toBe('yard');
    }
  });

  afterAll(async () => {
    console.log(`time for a change through one replica to reach every replica (ms): ${JSON.stringify(reached)}`);
    if (stores) await closeStores(stores);
    await topology?.close();
  });

  it('a registration on latest is served by every replica', async () => {
    await measure(
      'registration',
      () => registerUntrainedVersion(stores, 'distance', 'lane-v2', 100),
      (answer) => answer.version === 2,
    );
  });

  it('a pin through one replica is served by every replica', async () => {
    await measure(
      'pin',
      async () => expect((await admin(a, 'PATCH', '/deployments/lane', { modelVersion: 1 })).status).toBe(200),
      (answer) => answer.version === 1,
    );
  });

  it('a rollback through one replica is served by every replica', async () => {
    await measure(
      'rollback',
      async () => expect((await admin(a, 'POST', '/deployments/lane/rollback', { reason: 'fleet test' })).status).toBe(200),
      (answer) => answer.version === 2,
    );
  });

  it('a client moved through one replica is served its new deployment by every replica', async () => {
    await measure(
      'client move',
      async () => expect((await admin(a, 'PUT', `/clients/${rover.id}/deployment`, { deploymentId: 'yard' })).status).toBe(200),
      (answer) => answer.deployment === 'yard' && answer.modelName === 'yard',
    );
  });
});
