import type { Server } from 'node:http';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../api/app.js';
import { hashToken } from '../../api/auth.js';
import { FrameAnalysis } from '../../ingest/frameAnalysis.js';
import { ModelServer } from '../../serving/modelServer.js';
import { loadBackend } from '../../core/ml/backend.js';
import type { ObjectStore } from '../../core/stores/objects.js';
import type { Deployment } from '../../core/stores/registry.js';
import { registerUntrainedVersion } from '../support/apiHarness.js';
import { openTempStores, type TempStores } from '../support/embeddedStores.js';
import { syntheticFrame } from '../support/syntheticFrames.js';

/** An object store whose reads under a held prefix wait until released: a model load that takes as long as the test wants. */
class GatedObjects implements ObjectStore {
  private held: { prefix: string; open: Promise<void>; release: () => void } | undefined;
  constructor(private readonly inner: ObjectStore) {}
  hold(prefix: string) {
    let release!: () => void;
    const open = new Promise<void>((r) => (release = r));
    this.held = { prefix, open, release };
  }
  release() {
    this.held?.release();
    this.held = undefined;
  }
  async get(key: string) {
    if (this.held && key.startsWith(this.held.prefix)) await this.held.open;
    return this.inner.get(key);
  }
  put = (key: string, data: Buffer, type?: string) => this.inner.put(key, data, type);
  exists = (key: string) => this.inner.exists(key);
  list = (prefix: string) => this.inner.list(prefix);
  delete = (key: string) => this.inner.delete(key);
  close = async () => {};
}

/**
 * `latest` moves while requests are being served: the new version loads and warms in the
 * background, the old one keeps answering, and no request fails or switches model midway.
 */
describe('model hot swap', () => {
  let t: TempStores;
  let objects: GatedObjects;
  let models: ModelServer;
  let analysis: FrameAnalysis;
  let server: Server;
  let url: string;
  let jpeg: Buffer;
  const token = 'rover-token-0123456789';
  let deployment: Deployment;

  const predict = async () => {
    const form = new FormData();
    form.set('client_id', 'rover-1');
    form.set('sensor_value', '120');
    form.set('image', new Blob([new Uint8Array(jpeg)], { type: 'image/jpeg' }), 'frame.jpg');
    const res = await fetch(`${url}/predict`, { method: 'POST', body: form, headers: { authorization: `Bearer ${token}` } });
    const body = await res.json();
    return { status: res.status, version: body.model?.version as number | undefined };
  };
  let nextRun = 0;
  const registerNextVersion = () => registerUntrainedVersion({ ...t.stores, objects }, 'distance', `run-${++nextRun}`);

  beforeAll(async () => {
    t = await openTempStores();
    objects = new GatedObjects(t.stores.objects);
    const { name } = await loadBackend('auto');
    const log = pino({ level: 'silent' });
    // A cache with room for nothing but what serves: a replaced model is disposed as soon as no request holds it.
    models = new ModelServer({ registry: t.stores.registry, objects, latestTtlMs: 0, cacheMaxBytes: 1 });
    analysis = new FrameAnalysis({
      objects,
      measurements: t.stores.measurements,
      spoolDir: path.join(t.dir, 'spool'),
      queueLimit: 1000,
      log,
    });
    const app = createApp({
      config: {
        api: {
          port: 0,
          host: '127.0.0.1',
          adminToken: 'admin-token-0123',
          webhookToken: 'hook-token-0123',
          maxImageBytes: 200_000,
          analysisQueueLimit: 1000,
          readyCheckTimeoutSeconds: 2,
          jsonMaxDepth: 32,
          jsonMaxKeys: 50_000,
          // One rover sends 24 frames at once across the swap: more than a client's default share of the in-flight budget.
          inflightClientMaxFrames: 32,
        },
        temporal: { namespace: 'default', uiUrl: 'http://localhost:8233' },
      },
      stores: { ...t.stores, objects },
      models,
      analysis,
      temporal: () => Promise.reject(new Error('no Temporal in this test')),
      backend: name,
      log,
    });
    server = await new Promise((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    jpeg = await syntheticFrame(120);
    deployment = await t.stores.registry.createDeployment({
      id: 'beige',
      modelName: 'distance',
      modelVersion: 'latest',
      strategy: 'direct',
    });
    await t.stores.registry.createClient({ id: 'rover-1', name: 'rover-1', tokenHash: hashToken(token), deploymentId: 'beige' });
  });

  afterAll(async () => {
    await new Promise((r) => server?.close(r));
    await analysis?.idle();
    await analysis?.close();
    models?.dispose();
    await t?.cleanup();
  });

  it('finishes a request on the version it started with, and disposes that version only after it', async () => {
    await registerNextVersion();
    const held = (await models.acquire(deployment))!;
    expect(held.version.version).toBe(1);

    await registerNextVersion();
    const duringLoad = (await models.acquire(deployment))!;
    expect(duringLoad.version.version).toBe(1);
    duringLoad.release();
    await models.swapsSettled();
    const afterSwap = (await models.acquire(deployment))!;
    expect(afterSwap.version.version).toBe(2);
    afterSwap.release();

    // v1 is out of the cache, but the request holding it is still in memory and predicts with it.
    expect(models.loadedVersions()).toEqual(['distance@1', 'distance@2']);
    const prediction = await held.predictMm(jpeg);
    expect(prediction).toBeGreaterThanOrEqual(0);
    expect(prediction).toBeLessThanOrEqual(350);
    held.release();
    expect(models.loadedVersions()).toEqual(['distance@2']);
  });

  it('keeps serving the current version when the new one cannot load, and does not give it up', async () => {
    const broken = await registerNextVersion();
    await objects.put(`${broken.artifactKey}/weights.bin`, Buffer.from('not the registered weights'));
    const servedVersion = async () => {
      const lease = (await models.acquire(deployment))!;
      lease.release();
      return lease.version.version;
    };
    expect(await servedVersion()).toBe(2);
    await models.swapsSettled();
    // Still v2, and the next look at the registry tries v3 again (and fails again).
    expect(await servedVersion()).toBe(2);
    await models.swapsSettled();
    expect(models.loadedVersions()).toEqual(['distance@2']);
  });

  it('answers every request over HTTP while the new version loads and while it is swapped in', async () => {
    const next = await registerNextVersion();
    objects.hold(next.artifactKey);
    // The new version's artifact cannot be read yet: requests must not wait for it.
    const whileLoading = await Promise.all(Array.from({ length: 8 }, predict));
    expect(whileLoading).toEqual(Array.from({ length: 8 }, () => ({ status: 200, version: 2 })));

    const acrossSwap = Array.from({ length: 24 }, predict);
    objects.release();
    const answers = await Promise.all(acrossSwap);
    expect(answers.filter((a) => a.status !== 200)).toEqual([]);
    expect(answers.filter((a) => a.version !== 2 && a.version !== next.version)).toEqual([]);

    await models.swapsSettled();
    expect(await predict()).toEqual({ status: 200, version: next.version });
    expect(models.loadedVersions()).toEqual([`distance@${next.version}`]);
  });
});
