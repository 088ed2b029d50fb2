import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelServer } from '../../api/modelServer.js';
import { loadBackend } from '../../core/ml/backend.js';
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
    const { tf } = await loadBackend('auto');
    models = new ModelServer({ registry: t.stores.registry, objects, tf, latestTtlMs: 0 });
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
});
