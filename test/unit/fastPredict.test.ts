import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LayersModel, Tensor, Tensor4D } from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildModel } from '../../core/ml/architectures.js';
import { loadBackend, type Tf } from '../../core/ml/backend.js';
import { compileForServing, ServingInputError } from '../../core/ml/fastPredict.js';
import { imageToPixels } from '../../core/ml/imagePixels.js';
import { deserializeModel, serializeModel } from '../../core/ml/modelArtifact.js';
import { pixelsToTensor } from '../../core/ml/train.js';
import { runParking, type EdgeFrame } from '../../edge/parkingRun.js';

type NodeTf = Tf & { node: { getNumOfSavedModels(): number } };

const ARCHITECTURES = [
  { architecture: 'compact', width: 64, height: 48 },
  { architecture: 'thesis-inception', width: 100, height: 75 },
] as const;

let tf: NodeTf;
let frames: EdgeFrame[];
let cacheDir: string;

/** Untrained layers have zero biases; random ones make a wrongly wired bias show in the outputs. */
function randomizeBiases(model: LayersModel, seed: number) {
  for (const [i, layer] of model.layers.entries()) {
    const [kernel, bias] = layer.getWeights();
    if (bias) tf.tidy(() => layer.setWeights([kernel, tf.randomUniform(bias.shape, -0.1, 0.1, 'float32', seed + i)]));
  }
}

async function framesTensor(width: number, height: number, count: number): Promise<Tensor4D> {
  const pixels = await Promise.all(frames.slice(0, count).map((f) => imageToPixels(f.jpeg, { width, height })));
  const joined = new Uint8Array(pixels.reduce((n, p) => n + p.length, 0));
  pixels.forEach((p, i) => joined.set(p, i * p.length));
  return pixelsToTensor(tf, joined, count, height, width) as Tensor4D;
}

const maxAbsDiff = (a: Tensor, b: Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);

/** A fallback predictor answers exactly as the layers model's own predict on `count` recorded frames. */
async function expectLayersAnswers(predictor: { predict(x: Tensor4D): Tensor }, model: LayersModel, count: number) {
  const x = await framesTensor(64, 48, count);
  const [actual, expected] = [predictor.predict(x), model.predict(x) as Tensor];
  expect(maxAbsDiff(actual, expected)).toBe(0);
  tf.dispose([actual, expected, x]);
}

beforeAll(async () => {
  tf = (await loadBackend('tensorflow')).tf as NodeTf;
  frames = [];
  await runParking({
    preset: 'beige-350',
    seed: 11,
    send: async (frame) => {
      frames.push(frame);
      return { ok: true, predictionMm: frame.sensorMm ?? frame.trueMm };
    },
  });
  cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fast-predict-test-'));
});

afterAll(() => fs.rmSync(cacheDir, { recursive: true, force: true }));

describe('compileForServing', () => {
  it.each(ARCHITECTURES)('runs $architecture as one TensorFlow graph with the outputs of model.predict on real frames', async (target) => {
    const { width, height } = target;
    const built = buildModel(tf, target.architecture, { width, height, dropout: 0.2, learningRate: 1e-3, seed: 3 });
    randomizeBiases(built, 5);
    // As the model server has it: a registered artifact, loaded back.
    const metadata = { architecture: target.architecture, width, height, labelMaxMm: 350, backend: 'tensorflow' };
    const artifact = await serializeModel(tf, built, metadata);
    built.dispose();
    const { model } = await deserializeModel(tf, artifact.modelJson, artifact.weights);
    const predictor = await compileForServing(tf, model, { cacheDir, artifactSha256: artifact.sha256 });
    expect(predictor.fallbackReason).toBeUndefined();
    expect(predictor.path).toBe('graph');
    const x = await framesTensor(target.width, target.height, 16);
    try {
      for (const size of [1, 8, 16]) {
        const batch = x.slice(0, size);
        const expected = model.predict(batch) as Tensor;
        const actual = predictor.predict(batch);
        expect(actual.shape).toEqual([size, 1]);
        expect(maxAbsDiff(actual, expected)).toBeLessThanOrEqual(1e-5);
        // The outputs differ from frame to frame: a graph that ignored its input would not pass.
        if (size > 1) expect(tf.tidy(() => tf.moments(actual).variance.dataSync()[0])).toBeGreaterThan(0);
        tf.dispose([batch, expected, actual]);
      }
    } finally {
      x.dispose();
      predictor.dispose();
      model.dispose();
    }
  });

  it('frees its session and leaves no tensors behind once disposed', async () => {
    const model = buildModel(tf, 'compact', { width: 64, height: 48, dropout: 0.1, learningRate: 1e-3, seed: 4 });
    const x = await framesTensor(64, 48, 4);
    const sessions = tf.node.getNumOfSavedModels();
    const tensors = tf.memory().numTensors;
    const predictor = await compileForServing(tf, model, { cacheDir });
    expect(tf.node.getNumOfSavedModels()).toBe(sessions + 1);
    for (let i = 0; i < 5; i++) predictor.predict(x).dispose();
    predictor.dispose();
    expect(tf.node.getNumOfSavedModels()).toBe(sessions);
    expect(tf.memory().numTensors).toBe(tensors);
    expect(() => predictor.predict(x)).toThrow(/disposed/);
    x.dispose();
    model.dispose();
  });

  it('reuses the graph cached under the artifact hash: a second compile writes no file', async () => {
    const model = buildModel(tf, 'compact', { width: 64, height: 48, dropout: 0.1, learningRate: 1e-3, seed: 6 });
    const artifactSha256 = 'a'.repeat(64);
    const cached = () => fs.readdirSync(cacheDir).filter((name) => name.includes(artifactSha256));
    const first = await compileForServing(tf, model, { cacheDir, artifactSha256 });
    expect(cached()).toHaveLength(1);
    const file = path.join(cacheDir, cached()[0], 'saved_model.pb');
    const written = fs.statSync(file);
    const again = await compileForServing(tf, model, { cacheDir, artifactSha256 });
    expect(again.path).toBe('graph');
    // An export would have written a new file (staged, then renamed over): same inode and time means none.
    expect(fs.statSync(file)).toMatchObject({ ino: written.ino, mtimeMs: written.mtimeMs });
    expect(cached()).toHaveLength(1);
    expect(fs.readdirSync(cacheDir).filter((name) => name.endsWith('.tmp'))).toEqual([]);
    first.dispose();
    again.dispose();
    model.dispose();
  });

  it('checks a cached graph against the layers model and runs the layers model when they differ', async () => {
    const first = buildModel(tf, 'compact', { width: 64, height: 48, dropout: 0.1, learningRate: 1e-3, seed: 6 });
    const other = buildModel(tf, 'compact', { width: 64, height: 48, dropout: 0.1, learningRate: 1e-3, seed: 7 });
    const artifactSha256 = 'b'.repeat(64);
    const compiled = await compileForServing(tf, first, { cacheDir, artifactSha256 });
    // Same hash, other weights: the cache holds the first model's graph, which must not answer for this one.
    const stale = await compileForServing(tf, other, { cacheDir, artifactSha256 });
    expect(compiled.path).toBe('graph');
    expect(stale.path).toBe('layers');
    expect(stale.fallbackReason).toMatch(/differ from the layers model's/);
    await expectLayersAnswers(stale, other, 4);
    compiled.dispose();
    stale.dispose();
    first.dispose();
    other.dispose();
  });

  it('keeps its exports, by default, in a folder only this user can read or write', async () => {
    const model = buildModel(tf, 'compact', { width: 64, height: 48, dropout: 0.1, learningRate: 1e-3, seed: 12 });
    const predictor = await compileForServing(tf, model);
    expect(predictor.path).toBe('graph');
    const folder = path.dirname(predictor.savedModelDir!);
    expect(path.dirname(folder)).toBe(os.tmpdir());
    expect(fs.statSync(folder).mode & 0o077).toBe(0);
    predictor.dispose();
    model.dispose();
    // The test runner's workers may end without an exit event: remove it here; a later compile makes another.
    fs.rmSync(folder, { recursive: true, force: true });
  });

  it('removes its default folder when the process exits', () => {
    const fixture = fileURLToPath(new URL('../fixtures/servingGraph/compileAndExit.ts', import.meta.url));
    const printed = execFileSync(process.execPath, ['--import', 'tsx', fixture], { encoding: 'utf8' }).trim().split('\n').pop()!;
    const { path: chosen, savedModelDir } = JSON.parse(printed) as { path: string; savedModelDir: string };
    expect(chosen).toBe('graph');
    expect(savedModelDir.startsWith(os.tmpdir())).toBe(true);
    expect(fs.existsSync(path.dirname(savedModelDir))).toBe(false);
  });

  it('runs the layers model when TensorFlow refuses the SavedModel it finds in the cache', async () => {
    const model = buildModel(tf, 'compact', { width: 64, height: 48, dropout: 0.1, learningRate: 1e-3, seed: 10 });
    const artifactSha256 = 'c'.repeat(64);
    const dir = path.join(cacheDir, `mlops-serving-graph-g1-${artifactSha256}`);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'saved_model.pb'), Buffer.from('not a SavedModel'));
    const predictor = await compileForServing(tf, model, { cacheDir, artifactSha256 });
    expect(predictor.path).toBe('layers');
    expect(predictor.fallbackReason).toMatch(/could not write or load the exported graph/);
    await expectLayersAnswers(predictor, model, 2);
    predictor.dispose();
    model.dispose();
  });

  it('runs a model with a layer it cannot translate as the layers model, and says why', async () => {
    const input = tf.input({ shape: [48, 64, 3] });
    const normalized = tf.layers.batchNormalization().apply(input);
    const flat = tf.layers.flatten().apply(normalized);
    const output = tf.layers.dense({ units: 1, activation: 'sigmoid' }).apply(flat) as import('@tensorflow/tfjs').SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: output });
    const predictor = await compileForServing(tf, model, { cacheDir });
    expect(predictor.path).toBe('layers');
    expect(predictor.fallbackReason).toMatch(/BatchNormalization/);
    await expectLayersAnswers(predictor, model, 4);
    predictor.dispose();
    model.dispose();
  });

  it('refuses frames of another size or type with a bad_input error', async () => {
    const model = buildModel(tf, 'compact', { width: 64, height: 48, dropout: 0.1, learningRate: 1e-3, seed: 8 });
    const predictor = await compileForServing(tf, model, { cacheDir });
    const wrongSize = tf.zeros([1, 64, 48, 3]) as Tensor4D;
    const wrongType = tf.zeros([1, 48, 64, 3], 'int32') as Tensor4D;
    for (const x of [wrongSize, wrongType]) {
      const call = () => predictor.predict(x);
      expect(call).toThrow(ServingInputError);
      expect(call).toThrow(/expected float32 frames \[batch, 48, 64, 3\]/);
    }
    tf.dispose([wrongSize, wrongType]);
    predictor.dispose();
    model.dispose();
  });

  it('runs the layers model on the pure-JS backend, which has no TensorFlow sessions', async () => {
    await tf.setBackend('cpu');
    try {
      const model = buildModel(tf, 'compact', { width: 64, height: 48, dropout: 0.1, learningRate: 1e-3, seed: 9 });
      const predictor = await compileForServing(tf, model, { cacheDir });
      expect(predictor.path).toBe('layers');
      expect(predictor.fallbackReason).toMatch(/backend cpu/);
      await expectLayersAnswers(predictor, model, 2);
      predictor.dispose();
      model.dispose();
    } finally {
      await tf.setBackend('tensorflow');
    }
  });
});
