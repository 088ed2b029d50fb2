import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assembleDataset } from '../../activities/assembleDataset.js';
import { preprocess } from '../../activities/preprocess.js';
import { IMAGE_CHARACTERISTIC_FIELDS, type ImageCharacteristics } from '../../core/features/fields.js';
import { buildModel } from '../../core/ml/architectures.js';
import { loadBackend, type Tf } from '../../core/ml/backend.js';
import { readSplit, type DatasetManifestV2 } from '../../core/ml/dataset.js';
import { imageToPixels, PREPROCESSING_VERSION } from '../../core/ml/imagePixels.js';
import { JpegPixelsPool } from '../../core/ml/jpegPixelsPool.js';
import { compileJpegServing, type JpegServingPredictor } from '../../core/ml/jpegServing.js';
import { GRAPH_PREPROCESSING, GRAPH_PREPROCESSING_VERSION, preprocessingOfVersion } from '../../core/ml/modelArtifact.js';
import { PRESET_IDS } from '../../edge/presets.js';
import { openTempStores, type TempStores } from '../support/embeddedStores.js';

const FIXTURE_DIR = path.join(import.meta.dirname, '..', 'fixtures', 'frames');
/** The recorded frames of every preset of the edge simulator (test/fixtures/frames/README.md). */
const recorded = fs
  .readdirSync(FIXTURE_DIR)
  .filter((name) => name.endsWith('.jpg'))
  .map((name) => ({ name, jpeg: fs.readFileSync(path.join(FIXTURE_DIR, name)) }));
const EOI = Buffer.from([0xff, 0xd9]);
const zeros = Object.fromEntries(IMAGE_CHARACTERISTIC_FIELDS.map((f) => [f, 0])) as ImageCharacteristics;

describe('training through the JPEG graph', () => {
  const width = 100;
  const height = 75;
  const env = new MockActivityEnvironment();
  let t: TempStores;
  let tf: Tf;
  let serving: JpegServingPredictor;
  let cacheDir: string;
  /** A frame cut short without its end marker: libjpeg's error, refused by every decode. */
  const cut = recorded[0].jpeg.subarray(0, Math.floor(recorded[0].jpeg.length / 2));
  /** The same frame closed with its end marker: only a libjpeg warning, which TensorFlow decodes and sharp refuses. */
  const closed = Buffer.concat([cut, EOI]);

  beforeAll(async () => {
    tf = (await loadBackend('tensorflow')).tf;
    cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'graph-preprocessing-test-'));
    const model = buildModel(tf, 'thesis-inception', { width, height, dropout: 0.2, learningRate: 1e-3, seed: 3 });
    serving = await compileJpegServing(
      tf,
      model,
      { architecture: 'thesis-inception', width, height, labelMaxMm: 350, backend: 'tensorflow', preprocessing: GRAPH_PREPROCESSING },
      { cacheDir },
    );
    model.dispose();
    t = await openTempStores();
    const frames = [...recorded.map((f) => f.jpeg), cut, closed];
    const records = [];
    for (const [i, jpeg] of frames.entries()) {
      const imageKey = `features/d1/${i}.jpg`;
      await t.stores.objects.put(imageKey, jpeg);
      records.push({
        time: 1000 + i,
        deployment: 'd1',
        client: 'c',
        modelName: null,
        modelVersion: null,
        prediction: null,
        // The frame's index as its label: the test finds each frame's pixels by it.
        sensorValue: i,
        error: null,
        latencyMs: 1,
        imageKey,
        characteristics: zeros,
      });
    }
    await t.stores.measurements.write(records);
  }, 120_000);

  afterAll(async () => {
    serving?.dispose();
    await t?.cleanup();
    fs.rmSync(cacheDir, { recursive: true, force: true });
  });

  const preprocessWith = async (mlBackend: 'tensorflow' | 'cpu', runId: string) => {
    const ctx = { stores: t.stores, objectsUrl: t.urls.objectsUrl, mlBackend };
    const assembled = (await env.run(assembleDataset(ctx), { workflowId: 'wf', runId, deployments: ['d1'] })) as Awaited<
      ReturnType<ReturnType<typeof assembleDataset>>
    >;
    const input = { workflowId: 'wf', runId, ...assembled, width, height, labelMaxMm: 350, testFraction: 0.3, seed: 3 };
    const result = (await env.run(preprocess(ctx), input)) as Awaited<ReturnType<ReturnType<typeof preprocess>>>;
    const manifest = JSON.parse((await t.stores.objects.get(result.manifestKey)).toString()) as DatasetManifestV2;
    const byLabel = new Map<number, Uint8Array>();
    for (const which of ['train', 'test'] as const) {
      const split = await readSplit(t.stores.objects, manifest, which);
      const frameBytes = width * height * 3;
      for (let i = 0; i < split.count; i++) byLabel.set(split.labelsMm[i], split.pixels.subarray(i * frameBytes, (i + 1) * frameBytes));
    }
    return { result, manifest, byLabel };
  };

  it("stores, for the recorded frames of every preset, exactly the model input the serving graph computes, and says it is 'graph-v1'", async () => {
    for (const preset of PRESET_IDS)
      expect(
        recorded.some((f) => f.name.startsWith(`${preset}-`)),
        preset,
      ).toBe(true);
    const { result, manifest, byLabel } = await preprocessWith('tensorflow', 'graph');
    expect(manifest.preprocessingVersion).toBe(GRAPH_PREPROCESSING_VERSION);
    expect(preprocessingOfVersion(manifest.preprocessingVersion)).toBe(GRAPH_PREPROCESSING);
    // The frame cut without its end marker fails TensorFlow's decode as sharp's; the one closed with it decodes.
    expect(result.skipped).toEqual({ image_invalid: 1 });
    expect(byLabel.has(recorded.length)).toBe(false);
    expect(byLabel.has(recorded.length + 1)).toBe(true);
    for (const [i, frame] of recorded.entries()) {
      const trained = byLabel.get(i)!;
      expect(Buffer.from(trained).equals(Buffer.from(await serving.modelInput([frame.jpeg]))), frame.name).toBe(true);
      // A batch's frames are made one by one: the same bytes in a batch of 16 as alone.
      const batch = recorded.slice(0, 16).map((f) => f.jpeg);
      if (i < 16) {
        const together = await serving.modelInput(batch);
        const frameBytes = width * height * 3;
        expect(Buffer.from(together.subarray(i * frameBytes, (i + 1) * frameBytes)).equals(Buffer.from(trained)), frame.name).toBe(true);
      }
    }
  });

  it('runs on a thread of its own that leaves no folder behind once closed, and answers each frame on its own', async () => {
    const pool = new JpegPixelsPool();
    const made = await pool.pixelsOf([recorded[0].jpeg, cut, recorded[1].jpeg], { width, height });
    expect(made.map((m) => (m instanceof Uint8Array ? m.length : (m as { code: string }).code))).toEqual([
      width * height * 3,
      'invalid_image',
      width * height * 3,
    ]);
    expect(Buffer.from(made[2] as Uint8Array).equals(Buffer.from(await serving.modelInput([recorded[1].jpeg])))).toBe(true);
    expect(fs.readdirSync(pool.cacheDir)).toHaveLength(1);
    await pool.close();
    expect(fs.existsSync(pool.cacheDir)).toBe(false);
  });

  it("keeps sharp's pixels under their own version where TensorFlow is not used (ML_BACKEND=cpu)", async () => {
    const { result, manifest, byLabel } = await preprocessWith('cpu', 'sharp');
    expect(manifest.preprocessingVersion).toBe(PREPROCESSING_VERSION);
    expect(preprocessingOfVersion(manifest.preprocessingVersion)).toBeUndefined();
    expect(result.frames).toMatchObject({ cached: 0 });
    expect(result.skipped).toEqual({ image_invalid: 2 });
    const expected = await imageToPixels(recorded[0].jpeg, { width, height });
    expect(Buffer.from(byLabel.get(0)!).equals(Buffer.from(expected))).toBe(true);
  });
});
