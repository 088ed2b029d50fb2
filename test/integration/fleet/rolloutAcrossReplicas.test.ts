import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRollouts } from '../../../activities/startRollouts.js';
import type { RolloutPolicyInput } from '../../../core/rollout/rolloutPolicy.js';
import { closeStores, type Stores } from '../../../core/stores/index.js';
import { registerUntrainedVersion } from '../../support/apiHarness.js';
import { eventually } from '../../support/eventually.js';
import { adminOn, openTopologyStores, sendFrame, topologyTemporal } from '../../support/fleetClient.js';
import { syntheticFrame } from '../../support/syntheticFrames.js';
import { startTopology, type Topology } from '../../support/topology.js';

/** A shadow stage that decides on a few frames; a canary stage that holds for an hour (the test ends it by hand). */
const POLICY: RolloutPolicyInput = {
  canaryShare: 0.5,
  shadow: { minFrames: 10, minMinutes: 0, maxMinutes: 30 },
  canary: { minFrames: 1_000_000, minMinutes: 60, maxMinutes: 120 },
  checkSeconds: 1,
};
const DEPLOYMENT = 'fleet';
const MODEL = 'fleet';
const ROVERS = 4;
/** Beyond the lookups' TTL (5 s) on a busy machine: by then every replica has read the registry's stage. */
const SETTLE_MS = 12_000;

interface Answer {
  replica: string;
  version: number;
  at: number;
}
/** How many times a rover's answering version changed from one frame to the next. */
const flipsOf = (seen: Answer[]) => seen.filter((s, i) => i > 0 && s.version !== seen[i - 1].version).length;

/**
 * A rollout's stages behave the same whichever API replica a frame reaches: in shadow both replicas answer with the
 * current version and store the candidate's prediction beside it; in canary the rovers the stage chose get the
 * candidate from either replica, the others the current version, and a rover's arm does not depend on the replica.
 * v1 predicts 150 mm and v2 100 mm on frames whose laser reads 90-110 mm: v2 is the better one.
 */
describe('rollout stages across API replicas', () => {
  let topology: Topology;
  let stores: Stores;
  let temporal: Awaited<ReturnType<typeof topologyTemporal>>;
  let a: string;
  let b: string;
  let jpeg: Buffer;
  const rovers: { id: string; token: string }[] = [];

  const admin = (url: string, method: string, route: string, body?: unknown) => adminOn(url, topology.adminToken, method, route, body);
  const frameOf = async (url: string, rover: { token: string }, i: number) => {
    const answer = await sendFrame(url, rover.token, jpeg, 90 + (i % 21));
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    return answer.version!;
  };
  const evidenceOf = (since: number, onlyClient: string) =>
    stores.measurements.rolloutEvidence({
      deployment: DEPLOYMENT,
      modelName: MODEL,
      currentVersion: 1,
      candidateVersion: 2,
      since,
      maxPairs: 100_000,
      excludeClients: rovers.map((r) => r.id).filter((id) => id !== onlyClient),
    });
  /** Each rover's frames, sent to A then B in turn for `forMs` from `from`: the version that answered each, and when (ms after `from`). */
  const alternate = async (from: number, forMs: number) => {
    const answers = new Map(rovers.map((r) => [r.id, [] as Answer[]]));
    for (let i = 0; Date.now() - from < forMs; i++)
      for (const rover of rovers)
        for (const [replica, url] of [
          ['A', a],
          ['B', b],
        ] as const)
          answers.get(rover.id)!.push({ replica, version: await frameOf(url, rover, i), at: Date.now() - from });
    return answers;
  };
  const rolloutIn = async () => (await stores.registry.getDeployment(DEPLOYMENT))!.rollout;

  beforeAll(async () => {
    topology = await startTopology({ name: 'rollout-replicas' });
    [a, b] = topology.apis.map((api) => api.url!);
    stores = await openTopologyStores(topology.env);
    temporal = await topologyTemporal(topology.env);
    jpeg = await syntheticFrame(100);
    const created = await admin(a, 'POST', '/deployments', { id: DEPLOYMENT, modelName: MODEL, strategy: 'shadow', rolloutPolicy: POLICY });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    for (let i = 0; i < ROVERS; i++) {
      const rover = await admin(i % 2 ? b : a, 'POST', '/clients', { id: `rover-${i}`, deploymentId: DEPLOYMENT });
      rovers.push({ id: rover.body.client.id, token: rover.body.token });
    }
    await registerUntrainedVersion(stores, MODEL, 'fleet-v1', 150);
    await registerUntrainedVersion(stores, MODEL, 'fleet-v2', 100);
    for (const url of [a, b]) for (const rover of rovers) expect(await frameOf(url, rover, 0)).toBe(1);
  });

  afterAll(async () => {
    await temporal?.client.workflow
      .getHandle(`rollout-${DEPLOYMENT}`)
      .terminate('test over')
      .catch(() => undefined);
    await temporal?.close();
    if (stores) await closeStores(stores);
    await topology?.close();
  });

  it('in shadow, both replicas answer with the current version and store the candidate beside it', async () => {
    const [started] = await startRollouts({
      stores,
      objectsUrl: '',
      mlBackend: 'auto',
      temporal: { client: async () => temporal.client, ui: { url: '', namespace: topology.env.TEMPORAL_NAMESPACE } },
    })({ modelName: MODEL, version: 2 });
    expect(started).toMatchObject({ deploymentId: DEPLOYMENT });
    await eventually(async () => expect(await rolloutIn()).toMatchObject({ stage: 'shadow', candidateVersion: 2 }));
    // Held in shadow while both replicas are looked at: a human's pause through A, seen through B.
    expect((await admin(a, 'POST', `/deployments/${DEPLOYMENT}/rollout/pause`, { by: 'fleet test' })).status).toBe(202);
    await eventually(async () =>
      expect((await admin(b, 'GET', `/deployments/${DEPLOYMENT}/rollout`)).body.workflow.state.paused).toBe(true),
    );

    const since = Date.now();
    // rover-0's frames go to A only, rover-1's to B only: each replica's shadows are told apart by rover.
    for (const [url, rover] of [
      [a, rovers[0]],
      [b, rovers[1]],
    ] as const) {
      let frames = 0;
      await eventually(
        async () => {
          expect(await frameOf(url, rover, frames++)).toBe(1);
          expect((await evidenceOf(since, rover.id)).pairs.current.length).toBeGreaterThanOrEqual(6);
        },
        { timeoutMs: 60_000, intervalMs: 100 },
      );
      const evidence = await evidenceOf(since, rover.id);
      expect(evidence.answeredByCandidate).toBe(0);
      // The candidate's errors (v2: 100 mm) are its own, not the current version's (150 mm).
      expect(Math.max(...evidence.pairs.candidate)).toBeLessThan(15);
      expect(Math.min(...evidence.pairs.current)).toBeGreaterThan(35);
      console.log(`shadow through ${url === a ? 'A' : 'B'}: ${evidence.pairs.current.length} paired frames of ${frames} sent`);
    }
  });

  it("in canary, a rover's arm is the same whichever replica answers it", async () => {
    expect((await admin(b, 'POST', `/deployments/${DEPLOYMENT}/rollout/resume`, { by: 'fleet test' })).status).toBe(202);
    const canary = await eventually(
      async () => {
        const rollout = await rolloutIn();
        expect(rollout).toMatchObject({ stage: 'canary' });
        return new Set(rollout!.canaryClients);
      },
      { timeoutMs: 60_000 },
    );
    expect(canary.size).toBe(ROVERS / 2);
    const stageSeenAt = Date.now();

    // Each rover's frames alternate between the replicas, from the stage's start until both have read it and past.
    const answers = await alternate(stageSeenAt, SETTLE_MS);

    for (const rover of rovers) {
      const seen = answers.get(rover.id)!;
      const flips = flipsOf(seen);
      const arm = canary.has(rover.id) ? 2 : 1;
      console.log(
        `${rover.id} (${canary.has(rover.id) ? 'canary' : 'current'}): ${seen.length} frames over both replicas, ${flips} change(s) of answering version, first answer by v${arm} on A at ${seen.find((s) => s.replica === 'A' && s.version === arm)?.at} ms, on B at ${seen.find((s) => s.replica === 'B' && s.version === arm)?.at} ms after the stage was in the registry`,
      );
      // Once the stage reached both replicas: one version for this rover, whichever replica.
      const lastRound = seen.filter((s) => s.at > SETTLE_MS - 2000);
      expect(new Set(lastRound.map((s) => s.version)), rover.id).toEqual(new Set([arm]));
      expect(new Set(lastRound.map((s) => s.replica))).toEqual(new Set(['A', 'B']));
      // Sticky: the rover's version changes once at most (into its arm), never back and forth between replicas.
      expect(flips, `${rover.id}: ${seen.map((s) => `${s.replica}:v${s.version}`).join(' ')}`).toBeLessThanOrEqual(1);
    }
  });

  it('an abort through one replica rolls every rover back on every replica', async () => {
    const canary = new Set((await rolloutIn())!.canaryClients);
    expect((await admin(a, 'POST', `/deployments/${DEPLOYMENT}/rollout/abort`, { by: 'fleet test' })).status).toBe(202);
    await eventually(async () => expect(await rolloutIn()).toBeNull());
    const rolledBackAt = Date.now();
    const answers = await alternate(rolledBackAt, SETTLE_MS);
    for (const rover of rovers) {
      const seen = answers.get(rover.id)!;
      const back = (replica: string) => seen.find((s) => s.replica === replica && s.version === 1)?.at;
      console.log(
        `abort through A, ${rover.id} (${canary.has(rover.id) ? 'canary' : 'current'}): ${flipsOf(seen)} change(s) of answering version, v1 on A from ${back('A')} ms, on B from ${back('B')} ms after the registry's rollback`,
      );
      const lastRound = seen.filter((s) => s.at > SETTLE_MS - 2000);
      expect(new Set(lastRound.map((s) => s.version)), rover.id).toEqual(new Set([1]));
    }
  });
});
