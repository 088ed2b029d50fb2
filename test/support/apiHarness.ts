import type { Server } from 'node:http';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { Express } from 'express';
import pino, { type Logger } from 'pino';
import { createApp } from '../../api/app.js';
import { hashToken } from '../../api/auth.js';
import { FrameAnalysis } from '../../ingest/frameAnalysis.js';
import { createHttpServer } from '../../api/httpServer.js';
import { ModelServer } from '../../serving/modelServer.js';
import { createApiMetrics } from '../../api/metrics.js';
import type { Config } from '../../core/config.js';
import type { ReferenceProfile } from '../../core/drift/referenceProfile.js';
import { sha256 } from '../../core/ml/dataset.js';
import { buildModel } from '../../core/ml/architectures.js';
import { loadBackend } from '../../core/ml/backend.js';
import { putModel, serializeModel } from '../../core/ml/modelArtifact.js';
import type { Stores } from '../../core/stores/index.js';
import { referenceProfileKey } from '../../core/stores/objectKeys.js';
import { openTempStores } from './embeddedStores.js';
import { SwitchableObjects } from './switchableObjects.js';

export { SwitchableObjects };

export const ADMIN_TOKEN = 'test-admin-token';
export const WEBHOOK_TOKEN = 'test-webhook-token';

/** One admin call to the API: its status and JSON body (null for 204). */
export async function adminCall(url: string, method: string, route: string, body?: unknown) {
  const res = await fetch(url + route, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: res.status === 204 ? null : await res.json() };
}

export interface ApiHarness {
  url: string;
  /** The Express app it serves (its routes, for the API description's test). */
  app: Express;
  /** Scratch folder of this API (its spool lives here). */
  dir: string;
  stores: Stores;
  objects: SwitchableObjects;
  models: ModelServer;
  analysis: FrameAnalysis;
  close(): Promise<void>;
}

export async function startApi(temporal: () => Promise<Client>, maxImageBytes = 200_000): Promise<ApiHarness> {
  const temp = await openTempStores();
  return startApiOn(temp.stores, temp.dir, temporal, { maxImageBytes, cleanup: () => temp.cleanup() });
}

/** The API in this process on any stores (embedded or production), with its spool under `dir`. */
export async function startApiOn(
  base: Stores,
  dir: string,
  temporal: () => Promise<Client>,
  options: {
    maxImageBytes?: number;
    cleanup?: () => Promise<void>;
    /** Settings of the API beyond the harness defaults (limits, budgets, cache TTL). */
    api?: Partial<Config['api']>;
    log?: Logger;
  } = {},
): Promise<ApiHarness> {
  const maxImageBytes = options.maxImageBytes ?? 200_000;
  const objects = new SwitchableObjects(base.objects);
  const stores = { ...base, objects };
  const { name } = await loadBackend('auto');
  const log = options.log ?? pino({ level: 'silent' });
  const settings = {
    port: 0,
    host: '127.0.0.1',
    adminToken: ADMIN_TOKEN,
    webhookToken: WEBHOOK_TOKEN,
    maxImageBytes,
    analysisQueueLimit: 100,
    readyCheckTimeoutSeconds: 2,
    jsonMaxDepth: 32,
    jsonMaxKeys: 50_000,
    // A busy machine delays this process's event loop (the tests' own work shares it); only the shedding test sheds.
    overloadDelayMs: 5_000,
    ...options.api,
  };
  const metrics = createApiMetrics();
  const models = new ModelServer({
    metrics: metrics.serving,
    registry: stores.registry,
    objects,
    latestTtlMs: 0,
    batch: settings.predictBatch,
    graph: settings.predictGraph,
  });
  const analysis = new FrameAnalysis({
    shadow: (modelName, version, image) => models.predictWith(modelName, version, image),
    objects,
    measurements: stores.measurements,
    registry: stores.registry,
    spoolDir: path.join(dir, 'spool'),
    queueLimit: settings.analysisQueueLimit,
    queueMaxBytes: settings.analysisQueueMaxBytes,
    spoolMaxBytes: settings.spoolMaxBytes,
    retryIntervalMs: 3_600_000,
    log,
    metrics: metrics.ingest,
  });
  const app = createApp({
    config: {
      api: settings,
      temporal: { namespace: 'default', uiUrl: 'http://localhost:8233' },
    },
    stores,
    models,
    analysis,
    temporal,
    backend: name,
    log,
    metrics,
  });
  const server: Server = await new Promise((resolve) => {
    const s = createHttpServer(app, settings).listen(0, '127.0.0.1', () => resolve(s));
  });
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    app,
    dir,
    stores,
    objects,
    models,
    analysis,
    async close() {
      await new Promise((r) => server.close(r));
      await analysis.close();
      models.dispose();
      await options.cleanup?.();
    },
  };
}

/** Registers an untrained compact model as the next version, as a registration would. */
/**
 * Registers the next version of a model with an untrained network; with `predictionMm`, one that predicts that
 * distance for every image (its output layer's weights zeroed, its bias set), so tests know each version's error.
 */
export async function registerUntrainedVersion(stores: Stores, modelName: string, runId: string, predictionMm?: number) {
  const { tf, name } = await loadBackend('auto');
  const model = buildModel(tf, 'compact', { width: 20, height: 15, dropout: 0.1, learningRate: 0.001 });
  if (predictionMm !== undefined) {
    const output = model.layers[model.layers.length - 1];
    const [kernel] = output.getWeights();
    const unit = predictionMm / 350;
    output.setWeights([tf.zerosLike(kernel), tf.tensor1d([Math.log(unit / (1 - unit))])]);
  }
  const serialized = await serializeModel(tf, model, { architecture: 'compact', width: 20, height: 15, labelMaxMm: 350, backend: name });
  const prefix = `runs/test/${runId}/trials/0/model`;
  await putModel(stores.objects, prefix, serialized);
  await stores.registry.saveTrial({
    id: `${runId}-t0`,
    workflowId: 'test',
    runId,
    modelName,
    params: { epochs: 1 },
    metrics: { test_mae_mm: 10 },
    history: {},
    artifactKey: prefix,
    artifactSha256: serialized.sha256,
    datasetKey: 'runs/test/dataset/manifest.json',
  });
  return stores.registry.registerModelVersion({
    modelName,
    artifactKey: prefix,
    artifactSha256: serialized.sha256,
    architecture: 'compact',
    metrics: { test_mae_mm: 10 },
    params: { epochs: 1 },
    trialId: `${runId}-t0`,
    workflowId: 'test',
    runId,
    datasetKey: 'runs/test/dataset/manifest.json',
    datasetSha256: 'x'.repeat(64),
    sourceDeployments: ['d1'],
    recordCount: 1,
    comparison: null,
  });
}

/**
 * The two deployments the durability tests drive, and their rovers: `served` (model `distance`, one untrained version:
 * frames are answered 200) and `fresh` (model `untrained`, no version: frames are answered 503 no_model and recorded).
 */
export async function createServedAndFreshDeployments(
  stores: Stores,
  rovers: { id: string; token: string; deployment: 'served' | 'fresh' }[],
  runId: string,
) {
  await stores.registry.createDeployment({ id: 'served', modelName: 'distance', modelVersion: 'latest', strategy: 'direct' });
  await stores.registry.createDeployment({ id: 'fresh', modelName: 'untrained', modelVersion: 'latest', strategy: 'direct' });
  for (const r of rovers)
    await stores.registry.createClient({ id: r.id, name: r.id, tokenHash: hashToken(r.token), deploymentId: r.deployment });
  await registerUntrainedVersion(stores, 'distance', runId);
}

/** Stores a reference profile and attaches it to its version, as the profiling step of a run would. */
export async function attachReferenceProfile(stores: Stores, profile: ReferenceProfile) {
  const body = Buffer.from(JSON.stringify(profile));
  const key = referenceProfileKey('test', profile.source.runId);
  await stores.objects.put(key, body, 'application/json');
  await stores.registry.attachReferenceProfile(profile.modelName, profile.version, { key, sha256: sha256(body) });
}
