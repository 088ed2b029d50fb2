import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelServer } from '../../serving/modelServer.js';
import type { ObjectStore } from '../../core/stores/objects.js';
import type { Deployment } from '../../core/stores/registry.js';
import { registerUntrainedVersion } from '../support/apiHarness.js';
import { openTempStores, type TempStores } from '../support/embeddedStores.js';
import { syntheticFrame } from '../support/syntheticFrames.js';

/** Counts the reads of each key: how often a model's artifact is fetched. */
class CountingObjects implements ObjectStore {
  readonly reads = new Map<string, number>();
  constructor(private readonly inner: ObjectStore) {}
  get = (key: string) => {
    this.reads.set(key, (this.reads.get(key) ?? 0) + 1);
    return this.inner.get(key);
  };
  put = (key: string, data: Buffer, type?: string) => this.inner.put(key, data, type);
  exists = (key: string) => this.inner.exists(key);
  list = (prefix: string) => this.inner.list(prefix);
  delete = (key: string) => this.inner.delete(key);
  close = async () => {};
  readsUnder = (prefix: string) => [...this.reads].filter(([key]) => key.startsWith(prefix)).reduce((n, [, c]) => n + c, 0);
}

/** Which version answers which rover during a rollout, and what happens when the candidate cannot load. */
describe('model server routing during a rollout', () => {
  let t: TempStores;
  let objects: CountingObjects;
  let models: ModelServer;
  let jpeg: Buffer;
  let deployment: Deployment;

  beforeAll(async () => {
    t = await openTempStores();
    objects = new CountingObjects(t.stores.objects);
    models = new ModelServer({ registry: t.stores.registry, objects, latestTtlMs: 0 });
    jpeg = await syntheticFrame(120);
    await t.stores.registry.createDeployment({ id: 'fleet', modelName: 'distance', modelVersion: 'latest', strategy: 'canary' });
    await registerUntrainedVersion(t.stores, 'distance', 'run-1', 100);
    await registerUntrainedVersion(t.stores, 'distance', 'run-2', 200);
    ({ deployment } = await t.stores.registry.setRolloutStage('fleet', {
      candidateVersion: 2,
      stage: 'canary',
      canaryClients: ['rover-c'],
      workflowId: 'test',
      note: null,
    }));
  });
  afterAll(async () => {
    models?.dispose();
    await t?.cleanup();
  });

  const answer = async (client: string, d = deployment) => {
    const routing = (await models.route(d, client))!;
    try {
      return { version: routing.lease.version.version, shadow: routing.shadowVersion, mm: await routing.lease.predictMm(jpeg) };
    } finally {
      routing.lease.release();
    }
  };

  it("answers the canary's rovers with the candidate, shadowed by the current version, and everyone else the other way round", async () => {
    expect(await answer('rover-c')).toMatchObject({ version: 2, shadow: 1 });
    expect((await answer('rover-c')).mm).toBeCloseTo(200, 1);
    expect(await answer('rover-x')).toMatchObject({ version: 1, shadow: 2 });
    expect(await models.predictWith('distance', 2, jpeg)).toBeCloseTo(200, 1);
    const shadowStage = { ...deployment, rollout: { ...deployment.rollout!, stage: 'shadow' as const } };
    expect(await answer('rover-c', shadowStage)).toMatchObject({ version: 1, shadow: 2 });
    expect(await answer('rover-c', { ...deployment, rollout: null })).toMatchObject({ version: 1, shadow: null });
  });

  it("answers an A/B test's and a bandit's rovers as a canary's: the candidate for its rovers, the current version for the others", async () => {
    for (const stage of ['ab', 'bandit'] as const) {
      const during = { ...deployment, rollout: { ...deployment.rollout!, stage, canaryClients: ['rover-c', 'rover-d'] } };
      expect(await answer('rover-c', during)).toMatchObject({ version: 2, shadow: 1 });
      expect(await answer('rover-d', during)).toMatchObject({ version: 2, shadow: 1 });
      expect(await answer('rover-x', during)).toMatchObject({ version: 1, shadow: 2 });
    }
  });

  it('answers with the current version when the candidate cannot load, and does not fetch it again for every frame', async () => {
    const v3 = await registerUntrainedVersion(t.stores, 'distance', 'run-3', 300);
    for (const key of await t.stores.objects.list(v3.artifactKey)) await t.stores.objects.delete(key);
    const broken = { ...deployment, rollout: { ...deployment.rollout!, candidateVersion: 3 } };
    expect(await answer('rover-c', broken)).toMatchObject({ version: 1, shadow: null });
    const readsOfOneLoad = objects.readsUnder(v3.artifactKey);
    expect(readsOfOneLoad).toBeGreaterThan(0);
    for (let i = 0; i < 5; i++) expect(await answer('rover-c', broken)).toMatchObject({ version: 1, shadow: null });
    await expect(models.predictWith('distance', 3, jpeg)).rejects.toThrow(/cannot serve/);
    expect(objects.readsUnder(v3.artifactKey)).toBe(readsOfOneLoad);
  });

  it('keeps three versions of one model loaded while a fleet uses them all: no reload between frames', async () => {
    // A fresh server: the other tests' loads and failures are not this one's.
    const server = new ModelServer({ registry: t.stores.registry, objects, latestTtlMs: 0 });
    try {
      await t.stores.registry.createDeployment({ id: 'pinned', modelName: 'distance', modelVersion: 1, strategy: 'direct' });
      const pinned = (await t.stores.registry.getDeployment('pinned'))!;
      const v4 = await registerUntrainedVersion(t.stores, 'distance', 'run-4', 250);
      // The fleet serves v2 to every rover but the canary, which v4 answers; each is the other's shadow.
      const fleet = { ...deployment, rollout: { ...deployment.rollout!, candidateVersion: v4.version } };
      const fleetServing = { ...fleet, currentVersion: 2 };
      const reads = () => [1, 2, v4.version].map((v) => objects.readsUnder(`runs/test/run-${v}/`));
      const frame = async (d: Deployment, client: string) => {
        const routing = (await server.route(d, client))!;
        try {
          await routing.lease.predictMm(jpeg);
          if (routing.shadowVersion !== null) await server.predictWith('distance', routing.shadowVersion, jpeg);
          return [routing.lease.version.version, routing.shadowVersion];
        } finally {
          routing.lease.release();
        }
      };
      expect(await frame(pinned, 'rover-p')).toEqual([1, null]);
      expect(await frame(fleetServing, 'rover-x')).toEqual([2, v4.version]);
      expect(await frame(fleetServing, 'rover-c')).toEqual([v4.version, 2]);
      const afterFirstLoads = reads();
      for (let round = 0; round < 10; round++) {
        await frame(pinned, 'rover-p');
        await frame(fleetServing, 'rover-x');
        await frame(fleetServing, 'rover-c');
      }
      expect(reads()).toEqual(afterFirstLoads);
      expect(server.loadedVersions()).toEqual(['distance@1', 'distance@2', `distance@${v4.version}`]);
    } finally {
      server.dispose();
    }
  });

  it('unloads the least recently used version beyond its bound in bytes, and a version idle for too long', async () => {
    const weightBytes = (await t.stores.objects.get('runs/test/run-1/trials/0/model/weights.bin')).length;
    const lease = async (server: ModelServer, version: number) => {
      const routing = (await server.route({ ...deployment, modelVersion: version, rollout: null }, 'rover-x'))!;
      routing.lease.release();
    };
    const bounded = new ModelServer({ registry: t.stores.registry, objects, cacheMaxBytes: 2 * weightBytes });
    try {
      for (const version of [1, 2, 1, 4]) await lease(bounded, version);
      expect(bounded.loadedVersions()).toEqual(['distance@1', 'distance@4']);
    } finally {
      bounded.dispose();
    }
    const forgetful = new ModelServer({ registry: t.stores.registry, objects, idleMs: 50 });
    try {
      await lease(forgetful, 1);
      await new Promise((resolve) => setTimeout(resolve, 100));
      await lease(forgetful, 2);
      expect(forgetful.loadedVersions()).toEqual(['distance@2']);
    } finally {
      forgetful.dispose();
    }
  });
});
