import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { LayersModel } from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashToken } from '../../api/auth.js';
import { computeImageCharacteristics } from '../../core/features/imageCharacteristics.js';
import { buildModel } from '../../core/ml/architectures.js';
import { loadBackend, type Tf } from '../../core/ml/backend.js';
import { compileJpegServing } from '../../core/ml/jpegServing.js';
import { unscaleLabel } from '../../core/ml/labels.js';
import { GRAPH_PREPROCESSING, putModel, serializeModel, type ModelMetadata } from '../../core/ml/modelArtifact.js';
import { startApi, type ApiHarness } from '../support/apiHarness.js';

const FIXTURE_DIR = path.join(import.meta.dirname, '..', 'fixtures', 'frames');
const recorded = fs
  .readdirSync(FIXTURE_DIR)
  .filter((name) => name.endsWith('.jpg'))
  .slice(0, 6)
  .map((name) => fs.readFileSync(path.join(FIXTURE_DIR, name)));
const TOKEN = 'token-jpeg-graph-0123456789';
const noTemporal = () => Promise.reject(new Error('Temporal is not part of this test'));

/**
 * A model trained on the JPEG graph ('graph-v1') is served from the frame's JPEG: its inference thread decodes and
 * resizes inside the graph, exactly as training made its frames, and the decode it gives back is what the analysis
 * reads (no second decode on the API's thread); the stored characteristics are the ones of today's analysis.
 */
describe('/predict with a model trained on the JPEG graph', () => {
  let api: ApiHarness;
  let tf: Tf;
  let model: LayersModel;
  const meta: ModelMetadata = {
    architecture: 'compact',
    width: 20,
    height: 15,
    labelMaxMm: 350,
    backend: 'tensorflow',
    preprocessing: GRAPH_PREPROCESSING,
  };

  beforeAll(async () => {
    ({ tf } = await loadBackend('auto'));
    api = await startApi(noTemporal);
    const { registry, objects } = api.stores;
    model = buildModel(tf, meta.architecture, { width: meta.width, height: meta.height, dropout: 0.1, learningRate: 0.001 });
    // Random biases: an untrained model with zero biases answers about the same for every frame.
    for (const [i, layer] of model.layers.entries()) {
      const [kernel, bias] = layer.getWeights();
      if (bias) tf.tidy(() => layer.setWeights([kernel, tf.randomUniform(bias.shape, -0.5, 0.5, 'float32', i)]));
    }
    const serialized = await serializeModel(tf, model, meta);
    const prefix = 'runs/test/run-jpeg/model';
    await putModel(objects, prefix, serialized);
    const shared = { workflowId: 'test', runId: 'run-jpeg', modelName: 'distance', params: {}, metrics: {} };
    await registry.saveTrial({ ...shared, id: 't0', history: {}, artifactKey: prefix, artifactSha256: serialized.sha256, datasetKey: 'k' });
    await registry.registerModelVersion({
      ...shared,
      artifactKey: prefix,
      artifactSha256: serialized.sha256,
      architecture: meta.architecture,
      trialId: 't0',
      datasetKey: 'k',
      datasetSha256: 'x'.repeat(64),
      sourceDeployments: ['d'],
      recordCount: 1,
      comparison: null,
    });
    await registry.createDeployment({ id: 'd', modelName: 'distance', modelVersion: 'latest', strategy: 'direct' });
    await registry.createClient({ id: 'rover-1', name: 'rover-1', tokenHash: hashToken(TOKEN), deploymentId: 'd' });
  });
  afterAll(async () => {
    await api?.close();
    model?.dispose();
  });

  const post = async (jpeg: Buffer, sensor: number) => {
    const form = new FormData();
    form.set('sensor_value', String(sensor));
    form.set('image', new Blob([new Uint8Array(jpeg)], { type: 'image/jpeg' }), 'frame.jpg');
    const res = await fetch(`${api.url}/predict`, { method: 'POST', body: form, headers: { authorization: `Bearer ${TOKEN}` } });
    return { status: res.status, body: (await res.json()) as { prediction_mm?: number; error?: { code: string } } };
  };

  it('predicts as the JPEG graph does, refuses a frame it cannot decode alone, and stores the characteristics of today', async () => {
    const answers = await Promise.all(recorded.map((jpeg, i) => post(jpeg, 100 + i)));
    expect(answers.map((a) => a.status)).toEqual(recorded.map(() => 200));

    const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'predict-jpeg-graph-'));
    const graph = await compileJpegServing(tf, model, meta, { cacheDir });
    try {
      const { units } = graph.predictJpegs(recorded);
      answers.forEach((a, i) => expect(a.body.prediction_mm).toBeCloseTo(unscaleLabel(units[i], meta.labelMaxMm), 3));
    } finally {
      graph.dispose();
      fs.rmSync(cacheDir, { recursive: true, force: true });
    }
    const lease = (await api.models.acquire((await api.stores.registry.getDeployment('d'))!))!;
    expect(lease.takesJpeg).toBe(true);
    lease.release();

    const broken = Buffer.concat([recorded[0].subarray(0, 400), Buffer.alloc(300, 7)]);
    const [refused, ...others] = await Promise.all([post(broken, 99), ...recorded.slice(0, 3).map((jpeg, i) => post(jpeg, 200 + i))]);
    expect(refused).toMatchObject({ status: 400, body: { error: { code: 'invalid_image' } } });
    expect(others.map((a) => a.status)).toEqual([200, 200, 200]);

    await api.analysis.idle();
    const rows = await api.stores.measurements.datasetRows(['d']);
    expect(rows.map((r) => r.sensorValue).sort()).toEqual([100, 101, 102, 103, 104, 105, 200, 201, 202]);
    for (const row of rows) {
      const jpeg = recorded[row.sensorValue >= 200 ? row.sensorValue - 200 : row.sensorValue - 100];
      expect(row.characteristics).toEqual(await computeImageCharacteristics(jpeg));
    }
  });
});
