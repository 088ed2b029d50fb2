import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildModel } from '../../core/ml/architectures.js';
import { loadBackend, type Tf } from '../../core/ml/backend.js';
import { imageToPixels, InvalidImageError } from '../../core/ml/imagePixels.js';
import { unscaleLabel } from '../../core/ml/labels.js';
import { compileJpegServing, type JpegServingPredictor } from '../../core/ml/jpegServing.js';
import { GRAPH_PREPROCESSING, serializeModel, type ModelMetadata, type SerializedModel } from '../../core/ml/modelArtifact.js';
import { decodeForAnalysis, DEFAULT_ANALYSIS_WIDTH } from '../../core/features/imageCharacteristics.js';
import { pixelsToTensor } from '../../core/ml/train.js';
import {
  InferenceEngine,
  InferenceError,
  InferenceThreadStoppedError,
  SERVING_TF_CONFIG,
  type EngineModel,
  type FramePrediction,
} from '../../serving/inferenceEngine.js';
import { syntheticFrame } from '../support/syntheticFrames.js';

const FIXTURE_DIR = path.join(import.meta.dirname, '..', 'fixtures', 'frames');
const META: ModelMetadata = { architecture: 'compact', width: 20, height: 15, labelMaxMm: 350, backend: 'tensorflow' };

/** The inference thread loads, runs and frees models for the API; a thread that dies is replaced, and its calls fail at once. */
describe('inference engine', () => {
  let tf: Tf;
  let engine: InferenceEngine;
  let model: LayersModel;
  let files: SerializedModel;
  let frames: Buffer[];
  const restarts: string[] = [];
  const load = (options: Partial<Parameters<InferenceEngine['load']>[1]> = {}) =>
    engine.load(files, { label: 'distance@1', artifactSha256: files.sha256, layersOnly: false, warmShapes: [1, 2, 4], ...options });

  beforeAll(async () => {
    ({ tf } = await loadBackend('auto'));
    model = buildModel(tf, 'compact', { width: META.width, height: META.height, dropout: 0.1, learningRate: 0.001 });
    // Untrained layers have zero biases; random ones make a wrongly wired output show.
    for (const [i, layer] of model.layers.entries()) {
      const [kernel, bias] = layer.getWeights();
      if (bias) tf.tidy(() => layer.setWeights([kernel, tf.randomUniform(bias.shape, -0.5, 0.5, 'float32', i)]));
    }
    files = await serializeModel(tf, model, META);
    frames = await Promise.all([40, 120, 200, 280].map((mm) => syntheticFrame(mm)));
    engine = new InferenceEngine();
    engine.onRestart((reason) => restarts.push(reason));
  });
  afterAll(async () => {
    await engine?.close();
    model?.dispose();
  });

  /** What the layers model on this thread predicts for a frame, preprocessed as training does. */
  async function expectedMm(jpeg: Buffer): Promise<number> {
    const pixels = await imageToPixels(jpeg, META);
    const out = tf.tidy(() => model.predict(pixelsToTensor(tf, pixels, 1, META.height, META.width)) as Tensor);
    const [unit] = await out.data();
    out.dispose();
    return unscaleLabel(unit, META.labelMaxMm);
  }

  it('loads a model in the thread and answers a batch with one call, each frame with its own prediction', async () => {
    const loaded = await load();
    expect(loaded).toMatchObject({ path: (await engine.backend()).name === 'tensorflow' ? 'graph' : 'layers', metadata: META });
    const { frames: out, calls } = await engine.predict(
      loaded,
      frames.map((jpeg) => ({ jpeg })),
    );
    const mm = out.map((f) => (f as FramePrediction).mm);
    expect(calls).toBe(1);
    const expected = await Promise.all(frames.map(expectedMm));
    expect(new Set(expected.map((v) => v.toFixed(2))).size).toBeGreaterThan(1);
    mm.forEach((v, i) => expect(v as number).toBeCloseTo(expected[i], 3));
  });

  it('fails a frame that cannot be decoded alone, in the same call as its batch mates', async () => {
    const loaded = await load();
    const broken = Buffer.concat([frames[0].subarray(0, 200), Buffer.alloc(300, 7)]);
    const { frames: out, calls } = await engine.predict(
      loaded,
      [frames[1], broken, frames[2]].map((jpeg) => ({ jpeg })),
    );
    expect(calls).toBe(1);
    expect(out[1]).toBeInstanceOf(InvalidImageError);
    expect((out[0] as FramePrediction).mm).toBeCloseTo(await expectedMm(frames[1]), 3);
    expect((out[2] as FramePrediction).mm).toBeCloseTo(await expectedMm(frames[2]), 3);
  });

  it('refuses an artifact that does not match its registered sha256, and a model once unloaded', async () => {
    await expect(load({ artifactSha256: 'f'.repeat(64) })).rejects.toThrow(/does not match the registered sha256/);
    const loaded = await load();
    await engine.unload(loaded);
    await expect(engine.predict(loaded, [{ jpeg: frames[0] }])).rejects.toMatchObject({ code: 'model_unavailable' });
    await expect(engine.predict(loaded, [{ jpeg: frames[0] }])).rejects.toBeInstanceOf(InferenceError);
  });

  describe('a model trained on the JPEG graph', () => {
    const recorded = fs
      .readdirSync(FIXTURE_DIR)
      .filter((name) => name.endsWith('.jpg'))
      .map((name) => fs.readFileSync(path.join(FIXTURE_DIR, name)));
    let jpegFiles: SerializedModel;
    let onThisThread: JpegServingPredictor;
    let cacheDir: string;

    beforeAll(async () => {
      const meta: ModelMetadata = { ...META, preprocessing: GRAPH_PREPROCESSING };
      jpegFiles = await serializeModel(tf, model, meta);
      cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'inference-engine-test-'));
      onThisThread = await compileJpegServing(tf, model, meta, { cacheDir, batchSizes: [1, 2, 4, 8, 16] });
    });
    afterAll(() => {
      onThisThread?.dispose();
      fs.rmSync(cacheDir, { recursive: true, force: true });
    });

    it('predicts from JPEG bytes in one call, and gives back each frame decoded as the analysis decodes it', async () => {
      const loaded = await engine.load(jpegFiles, {
        label: 'distance@2',
        artifactSha256: jpegFiles.sha256,
        layersOnly: false,
        warmShapes: [1, 2, 4, 8, 16],
      });
      expect(loaded.path).toBe('jpeg');
      const batch = recorded.slice(0, 16);
      const { frames: out, calls } = await engine.predict(
        loaded,
        batch.map((jpeg) => ({ jpeg })),
      );
      expect(calls).toBe(1);
      const expected = onThisThread.predictJpegs(batch).units;
      for (const [i, frame] of (out as FramePrediction[]).entries()) {
        expect(frame.mm).toBeCloseTo(unscaleLabel(expected[i], META.labelMaxMm), 4);
        // The recorded frames are 160x120, the analysis's width: its pixels are the frame's own decode.
        const analysed = await decodeForAnalysis(batch[i], DEFAULT_ANALYSIS_WIDTH);
        expect(analysed.ownSize).toBe(true);
        expect(frame.rgb).toMatchObject({ width: analysed.width, height: analysed.height });
        expect(Buffer.from(frame.rgb!.data).equals(analysed.data)).toBe(true);
      }
    });

    it('fails a JPEG the graph cannot decode alone, trying its batch frame by frame', async () => {
      const loaded = await engine.load(jpegFiles, {
        label: 'distance@2',
        artifactSha256: jpegFiles.sha256,
        layersOnly: false,
        warmShapes: [1, 2, 4],
      });
      const broken = Buffer.concat([recorded[0].subarray(0, 400), Buffer.alloc(300, 7)]);
      const { frames: out, calls } = await engine.predict(
        loaded,
        [recorded[1], broken, recorded[2]].map((jpeg) => ({ jpeg })),
      );
      expect(calls).toBe(4);
      expect(out[1]).toBeInstanceOf(InvalidImageError);
      const expected = onThisThread.predictJpegs([recorded[1], recorded[2]]).units;
      expect((out[0] as FramePrediction).mm).toBeCloseTo(unscaleLabel(expected[0], META.labelMaxMm), 4);
      expect((out[2] as FramePrediction).mm).toBeCloseTo(unscaleLabel(expected[1], META.labelMaxMm), 4);
    });
  });

  it('fails the calls in a thread that dies at once, starts a new thread, and serves models loaded in it', async () => {
    const before: EngineModel = await load();
    const generation = engine.generation;
    const inFlight = engine.predict(before, [{ jpeg: frames[0] }]);
    const loading = load();
    await engine.restart();
    await expect(inFlight).rejects.toBeInstanceOf(InferenceThreadStoppedError);
    await expect(loading).rejects.toBeInstanceOf(InferenceThreadStoppedError);
    expect(restarts).toHaveLength(1);
    expect(engine.generation).toBe(generation + 1);
    // A model of the thread that died is gone with it.
    await expect(engine.predict(before, [{ jpeg: frames[0] }])).rejects.toBeInstanceOf(InferenceThreadStoppedError);
    const after = await load();
    const { frames: out } = await engine.predict(after, [{ jpeg: frames[3] }]);
    expect((out[0] as FramePrediction).mm).toBeCloseTo(await expectedMm(frames[3]), 3);
  });

  it('gives up on a call past its deadline: the thread is replaced, whatever hangs in it cannot hold requests', async () => {
    // A fresh thread loads TensorFlow first (seconds): the first load cannot finish within 0.05 s.
    const hurried = new InferenceEngine({ deadlines: { loadSeconds: 0.05 } });
    const replaced: string[] = [];
    hurried.onRestart((reason) => replaced.push(reason));
    try {
      const started = performance.now();
      await expect(
        hurried.load(files, { label: 'distance@1', artifactSha256: files.sha256, layersOnly: false, warmShapes: [1] }),
      ).rejects.toBeInstanceOf(InferenceThreadStoppedError);
      console.log(`[inference engine] a load past its 0.05 s deadline failed after ${((performance.now() - started) / 1000).toFixed(2)} s`);
      expect(replaced).toEqual([expect.stringContaining('deadline')]);
      expect(hurried.generation).toBe(2);
      expect((await hurried.backend()).name).toBe((await engine.backend()).name);
    } finally {
      await hurried.close();
    }
  });

  it("turns TensorFlow's thread spinning off in its thread, through the patched tfjs-node binding", () => {
    expect(process.env.TFJS_NODE_CONFIG_PROTO).toBe(SERVING_TF_CONFIG);
    const loadBinding = (config: string) =>
      spawnSync(process.execPath, ['-e', "require('@tensorflow/tfjs-node')"], {
        env: { ...process.env, TFJS_NODE_CONFIG_PROTO: config, TF_CPP_MIN_LOG_LEVEL: '2' },
        encoding: 'utf8',
      });
    // The binding applies what the variable holds: bytes that are no ConfigProto stop it from starting.
    expect(loadBinding('ffff').stderr).toMatch(/TFJS_NODE_CONFIG_PROTO is not a ConfigProto: Unparseable ConfigProto/);
    expect(loadBinding(SERVING_TF_CONFIG)).toMatchObject({ status: 0, stderr: '' });
  });
});
