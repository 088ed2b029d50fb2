/**
 * How long a model load pauses the API's event loop (`npx tsx bench/modelLoadPause.ts`): the model server loads
 * BENCH_LOADS versions of the thesis CNN at 100x75 (untrained weights), one after the other, while a 5 ms timer
 * ticks; prints the timer's largest gap during each load (the first load, which also starts TensorFlow, is left
 * out). BENCH_API_ROOT measures another checkout's model server (e.g. the code before a change). Where models load
 * in the inference thread, one thread serves every load and starts before the first.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ModelServer as ModelServerClass } from '../serving/modelServer.js';
import type * as Architectures from '../core/ml/architectures.js';
import type * as Backend from '../core/ml/backend.js';
import type * as ModelArtifact from '../core/ml/modelArtifact.js';
import type * as StoreIndex from '../core/stores/index.js';
import type * as InferenceEngineModule from '../serving/inferenceEngine.js';
import type { Deployment } from '../core/stores/registry.js';
import { watchLongestStall } from '../test/support/longestStall.js';

const root = path.resolve(process.env.BENCH_API_ROOT ?? '.');
const LOADS = Number(process.env.BENCH_LOADS ?? 4);
const from = <T>(file: string) => import(path.join(root, file)) as Promise<T>;

const { ModelServer } = await from<{ ModelServer: typeof ModelServerClass }>('serving/modelServer.ts');
const { loadBackend } = await from<typeof Backend>('core/ml/backend.ts');
const { buildModel } = await from<typeof Architectures>('core/ml/architectures.ts');
const { putModel, serializeModel } = await from<typeof ModelArtifact>('core/ml/modelArtifact.ts');
const { openStores, closeStores } = await from<typeof StoreIndex>('core/stores/index.ts');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-model-load-'));
const stores = await openStores({
  registryUrl: `sqlite:${path.join(dir, 'registry.db')}`,
  measurementsUrl: `sqlite:${path.join(dir, 'measurements.db')}`,
  objectsUrl: `file:${path.join(dir, 'objects')}`,
});
const { tf, name } = await loadBackend('auto');
// One inference thread for every load, started before the first (a checkout from before it has none).
const engineModule = fs.existsSync(path.join(root, 'serving/inferenceEngine.ts'))
  ? await from<typeof InferenceEngineModule>('serving/inferenceEngine.ts')
  : undefined;
const engine = engineModule && new engineModule.InferenceEngine();
await engine?.backend();
const pauses: number[] = [];
for (let run = 1; run <= LOADS; run++) {
  const meta = { architecture: 'thesis-inception', width: 100, height: 75, labelMaxMm: 350, backend: name };
  const model = buildModel(tf, meta.architecture, { width: meta.width, height: meta.height, dropout: 0.1, learningRate: 0.001 });
  const serialized = await serializeModel(tf, model, meta);
  model.dispose();
  const prefix = `runs/bench/run-${run}/model`;
  await putModel(stores.objects, prefix, serialized);
  const shared = { workflowId: 'bench', runId: `run-${run}`, modelName: 'distance', params: {}, metrics: {} };
  await stores.registry.saveTrial({
    ...shared,
    id: `t${run}`,
    history: {},
    artifactKey: prefix,
    artifactSha256: serialized.sha256,
    datasetKey: 'k',
  });
  const version = await stores.registry.registerModelVersion({
    ...shared,
    artifactKey: prefix,
    artifactSha256: serialized.sha256,
    architecture: meta.architecture,
    trialId: `t${run}`,
    datasetKey: 'k',
    datasetSha256: 'x'.repeat(64),
    sourceDeployments: ['bench'],
    recordCount: 1,
    comparison: null,
  });
  // `tf` for a checkout from before the inference thread, whose model server ran the models on this thread.
  const server = new ModelServer({ registry: stores.registry, objects: stores.objects, engine, ...{ tf } });
  const stall = watchLongestStall();
  const pinned = { id: 'bench', modelName: 'distance', modelVersion: version.version, strategy: 'direct' } as Deployment;
  (await server.acquire(pinned))?.release();
  const longest = stall.stop();
  server.dispose();
  if (run > 1) pauses.push(longest);
}
await engine?.close();
await closeStores(stores);
fs.rmSync(dir, { recursive: true, force: true });
console.log(`${root}: longest pause of the event loop per load: ${pauses.map((ms) => `${ms.toFixed(0)} ms`).join(', ')}`);
